"""SentencePiece subword units for speech recognition targets (optional `subwords` extra).

The unigram model is trained on the normalized training transcripts and kept as a file in
the run directory; pieces are the model's output units, and their word-boundary mark
becomes a space when ids are turned back into text (in the graph, see `toolkit.speech.ctc`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from toolkit.errors import ToolkitError


def _sentencepiece():
    try:
        import sentencepiece
    except ImportError:
        from toolkit.text.subwords import INSTALL_HINT

        raise ToolkitError(INSTALL_HINT) from None
    return sentencepiece


def train_subword_model(transcripts: Iterable[str], vocabulary_size: int, path: str | Path) -> Path:
    """Train a unigram SentencePiece model of `vocabulary_size` pieces (fewer when the text
    is too small for that many) and write it to `path`. Only <unk> is reserved (id 0): CTC
    needs no padding piece or sentence marks."""
    from toolkit.text.subwords import train_sentencepiece

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(train_sentencepiece(transcripts, vocabulary_size, "unigram", -1, 0))
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
