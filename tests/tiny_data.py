"""Tiny manifests and recipes built from the shipped assets, for tests."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
ASSETS = REPO / "assets" / "tts_digits"


def subset_manifest(split: str, labels: list[str], per_label: int, folder: Path) -> Path:
    """A manifest with `per_label` clips of each label, paths relative to `folder`."""
    table = pd.read_csv(ASSETS / f"{split}.csv", dtype=str)
    table = table[table["label"].isin(labels)].groupby("label").head(per_label)
    table = table.assign(audio=[os.path.relpath(ASSETS / p, folder) for p in table["audio"]])
    path = folder / f"{split}.csv"
    table.to_csv(path, index=False)
    return path


TINY_RECIPE = """
task: {{type: audio_classification, sample_rate: 16000, clip_duration: 1.0}}
data: {{train: {train}, test: {test}, valid_fraction: 0.25, cache: true}}
features: {{type: log_mel, num_mel_bins: 20}}
augment: {{time_shift_ms: 50.0, noise_probability: 0.5, time_masks: 1, frequency_masks: 1}}
model: {{type: ds_cnn, filters: 8, num_blocks: 1}}
train: {{epochs: 2, batch_size: 8, learning_rate: 0.003, verbose: 0}}
export: {{top_k: 2, detect_threshold: 0.34}}
"""


def run_without_toolkit(source: str, folder: Path, *arguments: str) -> None:
    """Run `source` in a fresh interpreter (it must not import the toolkit) with `arguments`."""
    import subprocess
    import sys

    script = folder / "serve.py"
    script.write_text(source)
    subprocess.run(
        [sys.executable, str(script), *arguments], check=True, cwd=folder, capture_output=True
    )
