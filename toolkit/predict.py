"""Predictions from a run directory (Keras model) or an exported SavedModel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.audio.io import SUPPORTED_EXTENSIONS, read_audio
from toolkit.errors import DataError, ToolkitError


def expand_paths(paths: list[str]) -> list[str]:
    """Files as given; folders searched recursively for audio files (sorted)."""
    found: list[str] = []
    for path in map(Path, paths):
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUPPORTED_EXTENSIONS)
            if not files:
                raise DataError(
                    f"{path}: no audio files ({', '.join(SUPPORTED_EXTENSIONS)}) in this folder"
                )
            found.extend(str(p) for p in files)
        elif not path.exists():
            raise DataError(f"{path}: no such file")
        else:
            found.append(str(path))
    return found


def is_saved_model(path: str | Path) -> bool:
    return (Path(path) / "saved_model.pb").is_file()


def predict(model_path: str, inputs: list[str], top_k: int) -> pd.DataFrame:
    """Top-k labels and scores for every input: audio files or folders for audio models,
    texts, text files or manifests for text models."""
    if is_saved_model(model_path):
        return predict_with_saved_model(model_path, inputs, top_k)
    from toolkit import runner

    run = runner.open_run(model_path)
    if hasattr(run.task, "predict_inputs"):
        return run.task.predict_inputs(run.model, inputs, top_k)
    files = expand_paths(inputs)
    for path in files:
        read_audio(path, run.task.sample_rate)  # one clear error for a bad file, before batching
    return run.task.predict_files(run.model, files, top_k)


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


def predict_with_saved_model(model_path: str, inputs: list[str], top_k: int) -> pd.DataFrame:
    """Run the SavedModel's serving signature; its `metadata` says what it takes."""
    import tensorflow as tf

    from toolkit.evaluation import top_k_table

    loaded = load_saved_model(model_path)
    metadata = loaded.metadata()
    serve = loaded.signatures["serving_default"]
    if "tags" in metadata:
        return tag_with_saved_model(serve, inputs)
    if "alphabet" in metadata:
        return transcribe_with_saved_model(serve, inputs, int(metadata["sample_rate"].numpy()))
    labels = [label.decode("utf-8") for label in metadata["labels"].numpy()]
    if "sample_rate" not in metadata:
        from toolkit.data.text_check import read_prediction_texts

        texts = read_prediction_texts(inputs)
        probabilities = serve(text=tf.constant(texts))["probabilities"].numpy()
        return top_k_table(texts, probabilities, labels, top_k, "text")
    files = expand_paths(inputs)
    sample_rate = int(metadata["sample_rate"].numpy())
    probabilities = []
    for path in files:
        waveform = read_audio(path, sample_rate)
        outputs = serve(waveforms=tf.constant(waveform[np.newaxis]))
        probabilities.append(outputs["probabilities"].numpy()[0])
    return top_k_table(files, np.stack(probabilities), labels, top_k)


def tag_with_saved_model(serve, inputs: list[str]) -> pd.DataFrame:
    """Tags and entities for raw sentences through a tagging SavedModel."""
    import tensorflow as tf

    from toolkit.data.text_check import read_prediction_texts

    texts = read_prediction_texts(inputs)
    out = {key: value.numpy() for key, value in serve(sentences=tf.constant(texts)).items()}
    rows = []
    for i, text in enumerate(texts):
        n = int(out["lengths"][i])
        rows.append(
            {
                "text": text,
                "tokens": " ".join(t.decode() for t in out["tokens"][i, :n]),
                "tags": " ".join(t.decode() for t in out["tags"][i, :n]),
                "entities": "; ".join(
                    f"{kind.decode()}: {name.decode()}"
                    for name, kind in zip(out["entity_text"][i], out["entity_type"][i], strict=True)
                    if kind
                ),
            }
        )
    return pd.DataFrame(rows)


def transcribe_with_saved_model(serve, inputs: list[str], sample_rate: int) -> pd.DataFrame:
    """Transcripts for audio files through a speech recognition SavedModel, one at a time."""
    import tensorflow as tf

    files = expand_paths(inputs)
    texts = []
    for path in files:
        waveform = read_audio(path, sample_rate)
        outputs = serve(
            waveforms=tf.constant(waveform[np.newaxis]), lengths=tf.constant([len(waveform)])
        )
        texts.append(outputs["transcript"].numpy()[0].decode("utf-8"))
    return pd.DataFrame({"audio": files, "transcript": texts})
