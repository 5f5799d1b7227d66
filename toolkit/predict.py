"""Predictions from a run directory (Keras model) or an exported SavedModel.

A SavedModel is called through its signatures; its `metadata["task"]` picks the function
below that knows that task's signatures.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from toolkit.errors import ToolkitError


def is_saved_model(path: str | Path) -> bool:
    return (Path(path) / "saved_model.pb").is_file()


def predict(model_path: str | Path, inputs: Any, top_k: int) -> pd.DataFrame:
    """Top-k labels and scores (transcripts, tags) for every input: audio files or folders
    for audio models; texts, text files or manifests for text models."""
    from toolkit.api import load

    return load(model_path).predict(inputs, top_k=top_k)


def load_saved_model(model_path: str):
    """`tf.saved_model.load`, with the SentencePiece ops registered when tensorflow-text is
    installed (a model with a subword tokenizer needs them)."""
    import tensorflow as tf

    try:
        import tensorflow_text  # noqa: F401
    except ImportError:
        pass
    try:
        return tf.saved_model.load(model_path)
    except Exception as error:  # TensorFlow raises several types for an unknown op
        if "Op type not registered" not in str(error):
            raise
        from toolkit.text.subwords import INSTALL_HINT

        raise ToolkitError(
            f"{model_path}: the model uses ops this install lacks; {INSTALL_HINT}"
        ) from None


def labels_of(metadata: dict[str, Any]) -> list[str]:
    return [label.decode("utf-8") for label in metadata["labels"]]


def classify_waveforms(signatures, metadata, items, names, *, top_k, batch_size) -> pd.DataFrame:
    """Audio classification: one waveform at a time (the graph pads or crops each)."""
    import tensorflow as tf

    from toolkit.evaluation import top_k_table

    serve = signatures["serving_default"]
    probabilities = [
        serve(waveforms=tf.constant(waveform[np.newaxis]))["probabilities"].numpy()[0]
        for waveform in items
    ]
    return top_k_table(names, np.stack(probabilities), labels_of(metadata), top_k)


def transcribe_waveforms(signatures, metadata, items, names, *, top_k, batch_size) -> pd.DataFrame:
    """Speech recognition: transcripts decoded in the graph, one utterance at a time."""
    import tensorflow as tf

    serve = signatures["serving_default"]
    texts = [
        serve(waveforms=tf.constant(waveform[np.newaxis]), lengths=tf.constant([len(waveform)]))[
            "transcript"
        ]
        .numpy()[0]
        .decode("utf-8")
        for waveform in items
    ]
    return pd.DataFrame({"audio": names, "transcript": texts})


def classify_texts(signatures, metadata, items, names, *, top_k, batch_size) -> pd.DataFrame:
    import tensorflow as tf

    from toolkit.evaluation import top_k_table

    serve = signatures["serving_default"]
    probabilities = np.concatenate(
        [
            serve(text=tf.constant(items[start : start + batch_size]))["probabilities"].numpy()
            for start in range(0, len(items), batch_size)
        ]
    )
    return top_k_table(names, probabilities, labels_of(metadata), top_k, "text")


def tag_texts(signatures, metadata, items, names, *, top_k, batch_size) -> pd.DataFrame:
    """Tags and entities for raw sentences (split in the graph) or token lists."""
    import tensorflow as tf

    rows = []
    for start in range(0, len(items), batch_size):
        batch = items[start : start + batch_size]
        if all(isinstance(item, str) for item in batch):
            outputs = signatures["serving_default"](sentences=tf.constant(batch))
        else:
            tokens = tf.ragged.constant([list(item) for item in batch]).to_tensor(default_value="")
            outputs = signatures["tokens"](tokens=tokens)
        out = {key: value.numpy() for key, value in outputs.items()}
        for i, name in enumerate(names[start : start + batch_size]):
            n = int(out["lengths"][i])
            rows.append(
                {
                    "text": name,
                    "tokens": " ".join(t.decode() for t in out["tokens"][i, :n]),
                    "tags": " ".join(t.decode() for t in out["tags"][i, :n]),
                    "entities": "; ".join(
                        f"{kind.decode()}: {text.decode()}"
                        for text, kind in zip(
                            out["entity_text"][i], out["entity_type"][i], strict=True
                        )
                        if kind
                    ),
                }
            )
    return pd.DataFrame(rows)


# metadata["task"] -> how to call that task's SavedModel.
SAVED_MODEL_PREDICTORS: dict[str, Callable[..., pd.DataFrame]] = {
    "audio_classification": classify_waveforms,
    "speech_recognition": transcribe_waveforms,
    "text_classification": classify_texts,
    "sequence_tagging": tag_texts,
}
