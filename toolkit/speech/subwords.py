"""SentencePiece subword units for speech recognition targets (optional `subwords` extra).

The unigram model is trained on the normalized training transcripts and kept as a file in
the run directory; pieces are the model's output units, and their word-boundary mark
becomes a space when ids are turned back into text (in the graph, see `toolkit.speech.ctc`).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

from toolkit.errors import ToolkitError

_INSTALL_HINT = (
    "subword units need the sentencepiece package: pip install 'speech-text-toolkit[subwords]'"
)


def _sentencepiece():
    try:
        import sentencepiece
    except ImportError:
        raise ToolkitError(_INSTALL_HINT) from None
    return sentencepiece


def train_subword_model(transcripts: Iterable[str], vocabulary_size: int, path: str | Path) -> Path:
    """Train a unigram SentencePiece model of `vocabulary_size` pieces (fewer when the text
    is too small for that many) and write it to `path`."""
    sentencepiece = _sentencepiece()
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(list(transcripts)),
        model_writer=model,
        vocab_size=vocabulary_size,
        model_type="unigram",
        character_coverage=1.0,
        hard_vocab_limit=False,
        # Only <unk> is reserved (id 0); CTC needs no sentence marks.
        bos_id=-1,
        eos_id=-1,
        unk_id=0,
        minloglevel=2,
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.getvalue())
    return path


class SubwordUnits:
    """Pieces of a trained model: `pieces` (id order) and `encode` (text -> piece ids)."""

    def __init__(self, path: str | Path):
        sentencepiece = _sentencepiece()
        if not Path(path).is_file():
            raise ToolkitError(f"{path}: no such subword model file")
        self.processor = sentencepiece.SentencePieceProcessor(model_file=str(path))
        self.pieces = [
            self.processor.id_to_piece(i) for i in range(self.processor.get_piece_size())
        ]

    def encode(self, text: str) -> list[int]:
        return list(self.processor.encode(text))
