"""Accuracy of exported keyword-spotting SavedModels when the recording level changes.

    python benchmarks/level_robustness.py --fsdd ../shared/data/fsdd \
        --model A/export/saved_model --model B/export/saved_model --gains=-30,-20,-10,0,10

A quiet microphone or a far talker records the same word 10-30 dB lower. Every clip of the
test set (FSDD's official test split with --fsdd, or a folder with one sub-folder per class
with --test-folder) is read at the model's sample rate (from its `metadata`), scaled by each
gain and classified by the `serving_default` signature, loaded with plain TensorFlow.
Several models are scored side by side on the same clips. Prints a table and updates the
`level_robustness` section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import results  # noqa: E402

SECTION = "level_robustness"
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg"}
BATCH = 100


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    test_set = parser.add_mutually_exclusive_group(required=True)
    test_set.add_argument(
        "--fsdd", help="FSDD root (with recordings/): score its official test split (takes 0-4)."
    )
    test_set.add_argument(
        "--test-folder", help="Folder with one sub-folder of clips per class (the label strings)."
    )
    parser.add_argument(
        "--model",
        dest="models",
        action="append",
        required=True,
        help="SavedModel folder (repeatable: models are scored side by side).",
    )
    parser.add_argument(
        "--name",
        dest="names",
        action="append",
        default=[],
        help="A name for each --model in the table, in the same order (default: its path).",
    )
    parser.add_argument(
        "--gains",
        default="-30,-20,-10,0,10",
        help="Comma-separated gains in dB (default -30,-20,-10,0,10).",
    )
    results.add_record_argument(parser)
    args = parser.parse_args(argv)
    try:
        args.gains = [float(gain) for gain in args.gains.split(",") if gain.strip()]
    except ValueError:
        parser.error(f"--gains: expected numbers separated by commas, got {args.gains!r}")
    if args.names and len(args.names) != len(args.models):
        parser.error("--name: give one name for every --model, or none")
    return args


def test_clips(args: argparse.Namespace) -> tuple[list[str], list[str], str]:
    """(paths, labels, description) of the test set named on the command line."""
    if args.fsdd:
        from toolkit.data.preparers import fsdd

        test = fsdd.prepare(Path(args.fsdd))["test"]
        paths, labels = list(test["audio"]), [str(label) for label in test["label"]]
        return paths, labels, f"FSDD official test split (`{args.fsdd}`, takes 0-4)"
    folder = Path(args.test_folder)
    if not folder.is_dir():
        raise SystemExit(f"error: {folder}: not a folder")
    files = [path for path in sorted(folder.glob("*/*")) if path.suffix.lower() in AUDIO_SUFFIXES]
    if not files:
        raise SystemExit(f"error: {folder}: no audio files in class sub-folders")
    return [str(path) for path in files], [path.parent.name for path in files], f"`{folder}`"


def accuracy_at_gains(
    model_path: Path, paths: list[str], labels: list[str], gains: list[float]
) -> dict[float, float]:
    """Accuracy of the SavedModel at `model_path` on the clips, for each gain in dB."""
    import tensorflow as tf

    from toolkit.audio.io import pad_or_crop, read_audio

    if not (model_path / "saved_model.pb").is_file():
        raise SystemExit(f"error: {model_path}: not a SavedModel folder (no saved_model.pb)")
    model = tf.saved_model.load(str(model_path))
    metadata = model.metadata()
    sample_rate = int(metadata["sample_rate"])
    clip_samples = int(metadata["clip_samples"])
    serving = model.signatures["serving_default"]
    # Each clip padded or cropped to the model's clip length as the SavedModel itself would
    # (centred), so clips of any length share a batch.
    padded = np.stack([pad_or_crop(read_audio(path, sample_rate), clip_samples) for path in paths])
    truth = np.array(labels)
    scores = {}
    for gain in gains:
        scaled = padded * np.float32(10.0 ** (gain / 20.0))
        predicted = []
        for start in range(0, len(scaled), BATCH):
            output = serving(waveforms=tf.constant(scaled[start : start + BATCH]))
            predicted.extend(label.decode() for label in output["label"].numpy())
        scores[gain] = float(np.mean(np.array(predicted) == truth))
    return scores


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    paths, labels, described = test_clips(args)
    names = args.names or args.models
    headers = ["model", *(f"{gain:+g} dB" for gain in args.gains), "spread"]
    rows = []
    for name, model in zip(names, args.models, strict=True):
        print(f"scoring {model}", flush=True)
        values = list(accuracy_at_gains(Path(model), paths, labels, args.gains).values())
        spread = max(values) - min(values)
        rows.append([name, *(f"{value:.2%}" for value in values), f"{spread * 100:.2f} points"])
    notes = [
        f"Test clips: {len(paths)}, {described}; each is scaled by the gain before the "
        "SavedModel's `serving_default` signature; spread is the best minus the worst accuracy "
        "over the gains.",
        "Models: "
        + "; ".join(f"{name}: `{model}`" for name, model in zip(names, args.models, strict=True)),
    ]
    results.report(
        SECTION,
        "Keyword spotting: accuracy against recording level",
        headers,
        rows,
        notes,
        record=not args.no_record,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
