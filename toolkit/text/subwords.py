"""SentencePiece subword units: training (the `sentencepiece` package) and a tokenizer layer
that runs the trained model inside the graph (`tensorflow-text`).

Both come with the optional `subwords` extra. An exported model that holds a
`SubwordTokenizer` needs `import tensorflow_text` in the loading process (it registers the
SentencePiece ops); nothing from this toolkit.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Literal

import keras
import numpy as np
import tensorflow as tf

from toolkit.errors import ToolkitError
from toolkit.text.tokenizers import Standardize, standardize_text

INSTALL_HINT = (
    "subword units need the sentencepiece and tensorflow-text packages: "
    "pip install 'speech-text-toolkit[subwords]'"
)
MODEL_FILE = "subwords.model"
# Piece ids the tokenizer is trained with: 0 pads, 1 is the unknown piece.
PAD_ID, UNKNOWN_ID = 0, 1


def _import(name: str):
    try:
        return __import__(name)
    except ImportError:
        raise ToolkitError(INSTALL_HINT) from None


def train_sentencepiece(
    texts: Iterable[str],
    vocabulary_size: int,
    model_type: Literal["unigram", "bpe"] = "unigram",
    pad_id: int = -1,
    unknown_id: int = 0,
) -> bytes:
    """A SentencePiece model of at most `vocabulary_size` pieces (fewer when the text is too
    small for that many), as the bytes of its model file. No sentence marks are reserved."""
    sentencepiece = _import("sentencepiece")
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter([text for text in texts if text.strip()]),
        model_writer=model,
        vocab_size=vocabulary_size,
        model_type=model_type,
        character_coverage=1.0,
        hard_vocab_limit=False,
        pad_id=pad_id,
        unk_id=unknown_id,
        bos_id=-1,
        eos_id=-1,
        # Long reviews are cut into sentences by SentencePiece's own limit otherwise.
        max_sentence_length=1 << 16,
        input_sentence_size=1_000_000,
        shuffle_input_sentence=True,
        minloglevel=2,
    )
    return model.getvalue()


@keras.saving.register_keras_serializable(package="toolkit")
class SubwordTokenizer(keras.layers.Layer):
    """Subword pieces (SentencePiece unigram or BPE) learnt from the training text.

    Id 0 is padding and id 1 the unknown piece, as with the word tokenizer, so the same
    backbones read it. The trained model is kept in the `.keras` file's assets."""

    gives_bags = False
    # Packages a process must import before loading a SavedModel that holds this layer.
    serving_requires = ("tensorflow_text",)

    def __init__(
        self,
        max_tokens: int = 8000,
        standardize: Standardize = "lower",
        output_mode: Literal["sequence"] = "sequence",
        max_length: int | None = 600,
        model_type: Literal["unigram", "bpe"] = "unigram",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if max_tokens < 3:
            raise ValueError(
                f"max_tokens must be at least 3 (padding, unknown, one piece), got {max_tokens}"
            )
        if output_mode != "sequence":
            raise ValueError(
                "the subword tokenizer gives piece sequences only (output_mode: sequence); "
                f"got {output_mode!r}: use the word tokenizer for bags of n-grams"
            )
        if max_length is not None and max_length < 1:
            raise ValueError(f"max_length must be positive or null, got {max_length}")
        if model_type not in ("unigram", "bpe"):
            raise ValueError(f"model_type must be unigram or bpe, got {model_type!r}")
        self.max_tokens = int(max_tokens)
        self.standardize = standardize
        self.output_mode = output_mode
        self.max_length = max_length
        self.model_type = model_type
        self.model_bytes: bytes | None = None
        self._tokenizer = None

    # Vocabulary ------------------------------------------------------------------------

    def adapt(self, texts: list[str] | np.ndarray, batch_size: int = 1024) -> None:
        """Train the SentencePiece model on the standardized training texts."""
        standardized = []
        for start in range(0, len(texts), batch_size):
            batch = np.asarray(texts[start : start + batch_size], dtype=object).astype(str)
            standardized.extend(
                text.decode("utf-8")
                for text in standardize_text(tf.constant(batch), self.standardize).numpy()
            )
        self.set_model(
            train_sentencepiece(standardized, self.max_tokens, self.model_type, PAD_ID, UNKNOWN_ID)
        )

    def set_model(self, model_bytes: bytes) -> None:
        tensorflow_text = _import("tensorflow_text")
        self.model_bytes = bytes(model_bytes)
        self._tokenizer = tensorflow_text.SentencepieceTokenizer(
            model=self.model_bytes, out_type=tf.int32
        )

    def _require_model(self):
        if self._tokenizer is None:
            raise ToolkitError("the subword tokenizer has no model yet: adapt it on training text")
        return self._tokenizer

    def extend_vocabulary(
        self, texts: list[str] | np.ndarray, batch_size: int = 1024
    ) -> tuple[int, int]:
        """Refused: pieces are not a list that grows, and they already spell any text."""
        raise ValueError(
            "the source's subword tokenizer covers any text with its units; fine-tune without it"
        )

    def vocabulary_size(self) -> int:
        return int(self._require_model().vocab_size())

    def vocabulary(self) -> list[str]:
        pieces = self._require_model().id_to_string(tf.range(self.vocabulary_size()))
        return [piece.decode("utf-8") for piece in pieces.numpy()]

    def derived_sizes(self) -> dict[str, int]:
        """The learnt model's number of pieces; before it is learnt, the number asked for
        (`max_tokens`), so settings can be checked before the training text is read."""
        if self._tokenizer is None:
            return {"vocabulary_size": self.max_tokens}
        return {"vocabulary_size": self.vocabulary_size()}

    def token_counts(self, texts: list[str] | np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Pieces per text before truncation, to report texts longer than `max_length`."""
        counts = []
        for start in range(0, len(texts), batch_size):
            batch = np.asarray(texts[start : start + batch_size], dtype=object).astype(str)
            pieces = self._pieces(tf.constant(batch))
            counts.append(pieces.row_lengths().numpy())
        return np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)

    def count_unknown(
        self, texts: list[str] | np.ndarray, batch_size: int = 1024
    ) -> tuple[int, int]:
        """(pieces that are the unknown piece, all pieces) of `texts`: only characters the
        model never saw fall outside it."""
        unknown = total = 0
        for start in range(0, len(texts), batch_size):
            batch = np.asarray(texts[start : start + batch_size], dtype=object).astype(str)
            ids = self._pieces(tf.constant(batch)).flat_values.numpy()
            unknown += int(np.sum(ids == UNKNOWN_ID))
            total += int(ids.size)
        return unknown, total

    # Layer -------------------------------------------------------------------------------

    def _pieces(self, texts: tf.Tensor) -> tf.RaggedTensor:
        return self._require_model().tokenize(standardize_text(texts, self.standardize))

    def build(self, input_shape) -> None:
        self.built = True

    def call(self, texts):
        pieces = self._pieces(texts)
        if self.max_length is not None:
            pieces = pieces[:, : self.max_length]
        return pieces.to_tensor(0)

    def compute_output_spec(self, texts):
        # Shapes are known without the model, so a saved model can be rebuilt before its
        # assets (the SentencePiece model) are loaded.
        return keras.KerasTensor((texts.shape[0], None), dtype="int32")

    def save_assets(self, dir_path: str) -> None:
        self._require_model()
        with open(f"{dir_path}/{MODEL_FILE}", "wb") as file:
            file.write(self.model_bytes)

    def load_assets(self, dir_path: str) -> None:
        with open(f"{dir_path}/{MODEL_FILE}", "rb") as file:
            self.set_model(file.read())

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "max_tokens": self.max_tokens,
                "standardize": self.standardize,
                "output_mode": self.output_mode,
                "max_length": self.max_length,
                "model_type": self.model_type,
            }
        )
        return config
