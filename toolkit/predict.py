"""Predictions from a run directory (Keras model) or an exported SavedModel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from toolkit.audio.io import SUPPORTED_EXTENSIONS, read_audio
from toolkit.errors import DataError


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
        else:
            found.append(str(path))
    return found


def is_saved_model(path: str | Path) -> bool:
    return (Path(path) / "saved_model.pb").is_file()


def predict_paths(model_path: str, paths: list[str], top_k: int) -> pd.DataFrame:
    """Top-k labels and scores for every audio file under `paths`."""
    files = expand_paths(paths)
    if is_saved_model(model_path):
        return predict_with_saved_model(model_path, files, top_k)
    from toolkit import runner

    run = runner.open_run(model_path)
    for path in files:
        read_audio(path, run.task.sample_rate)  # one clear error for a bad file, before batching
    return run.task.predict_files(run.model, files, top_k)


def predict_with_saved_model(model_path: str, files: list[str], top_k: int) -> pd.DataFrame:
    """Run the SavedModel's waveform signature; its `metadata` signature gives the sample rate."""
    import tensorflow as tf

    from toolkit.tasks.audio_classification import top_k_table

    loaded = tf.saved_model.load(model_path)
    metadata = loaded.metadata()
    sample_rate = int(metadata["sample_rate"].numpy())
    labels = [label.decode("utf-8") for label in metadata["labels"].numpy()]
    probabilities = []
    for path in files:
        waveform = read_audio(path, sample_rate)
        outputs = loaded.signatures["serving_default"](waveforms=tf.constant(waveform[np.newaxis]))
        probabilities.append(outputs["probabilities"].numpy()[0])
    return top_k_table(files, np.stack(probabilities), labels, top_k)
