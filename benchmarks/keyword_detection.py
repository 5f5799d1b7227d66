"""Keyword detection in a long recording: a trained FSDD classifier slid over ten minutes and
more of the official test clips, separated by silence and bursts of noise.

    python benchmarks/keyword_detection.py --fsdd ../shared/data/fsdd --run-dir runs/fsdd_a \
        --run-dir runs/fsdd_b --run-dir runs/fsdd_c --compare-run "no background=runs/fsdd_plain"

The recording: the 300 test clips (recordings 0-4 of every speaker and digit; the model never
trained on them, though their speakers are in training) in a seeded random order, each after a
gap of 0.8-2.8 s, over a constant pink-noise floor at -60 dBFS; one gap in four holds a burst
of white or pink noise at -35 to -20 dBFS. A word's true span is its clip trimmed to where it
is within 30 dB of its peak. A detection is correct when it names the clip's digit and its
start and end are each within the tolerance (0.25 s) of the word's; each word counts once.
Reports, per run, precision, recall, false alarms an hour (detections matching no word) and
the real-time factor of `toolkit.load(run).detect`; whether the exported SavedModel's `detect`
signature and its `stream` signature fed 100 ms chunks give the same detections, and the
stream's real-time factor; with several seeded runs, their mean and spread. Updates the
`keyword_detection` section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

import fsdd_common  # noqa: E402
import recipe_runs  # noqa: E402
import results  # noqa: E402

NOISE_FLOOR_DB = -60.0
BURST_DB_RANGE = (-35.0, -20.0)
GAP_SECONDS = (0.8, 2.8)
TRIM_DB = 30.0


@dataclass(frozen=True)
class Recording:
    audio: np.ndarray
    sample_rate: int
    words: pd.DataFrame  # keyword, start, end (seconds)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--run-dir",
        action="append",
        required=True,
        help="A trained FSDD classifier run (repeat for seeded runs: mean and spread).",
    )
    parser.add_argument(
        "--compare-run",
        action="append",
        default=[],
        metavar="NAME=RUN_DIR",
        help="Another run to detect with, on its own row (e.g. one without a background class).",
    )
    parser.add_argument("--fsdd", required=True, help="The FSDD folder (with recordings/).")
    parser.add_argument("--output", default="runs/bench_detection", help="Export folder.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=0.25, help="Seconds.")
    results.add_record_argument(parser)
    return parser.parse_args(argv)


def pink_noise(rng: np.random.Generator, samples: int) -> np.ndarray:
    """Noise with power falling as 1/f, scaled to unit RMS."""
    spectrum = np.fft.rfft(rng.normal(size=samples))
    frequencies = np.arange(len(spectrum), dtype=np.float64)
    frequencies[0] = 1.0
    noise = np.fft.irfft(spectrum / np.sqrt(frequencies), n=samples)
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-12)


def at_level(noise: np.ndarray, level_db: float) -> np.ndarray:
    return noise * 10.0 ** (level_db / 20.0)


def speech_span(clip: np.ndarray, sample_rate: int) -> tuple[float, float]:
    """Where the clip is within TRIM_DB of its peak, in 10 ms frames (seconds)."""
    frame = sample_rate // 100
    frames = len(clip) // frame
    if frames == 0:
        return 0.0, len(clip) / sample_rate
    energy = np.mean(clip[: frames * frame].reshape(frames, frame) ** 2, axis=1)
    level = 10 * np.log10(energy + 1e-12)
    loud = np.flatnonzero(level >= level.max() - TRIM_DB)
    return loud[0] * frame / sample_rate, (loud[-1] + 1) * frame / sample_rate


def build_recording(
    clips: list[np.ndarray], labels: list[str], sample_rate: int, seed: int
) -> Recording:
    """The clips in a seeded order, gaps of silence and noise between them (module doc)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(clips))
    pieces, words, cursor = [], [], 0
    for position, index in enumerate(order):
        gap = np.zeros(int(rng.uniform(*GAP_SECONDS) * sample_rate), np.float32)
        if position % 4 == 3:
            burst = rng.integers(len(gap) // 4, len(gap) * 3 // 4)
            offset = rng.integers(0, len(gap) - burst)
            kind = rng.normal(size=burst) if rng.random() < 0.5 else pink_noise(rng, burst)
            gap[offset : offset + burst] = at_level(kind, rng.uniform(*BURST_DB_RANGE))
        pieces.append(gap)
        cursor += len(gap)
        clip = clips[index]
        start, end = speech_span(clip, sample_rate)
        words.append((labels[index], cursor / sample_rate + start, cursor / sample_rate + end))
        pieces.append(clip.astype(np.float32))
        cursor += len(clip)
    pieces.append(np.zeros(int(GAP_SECONDS[1] * sample_rate), np.float32))
    audio = np.concatenate(pieces)
    audio = audio + at_level(pink_noise(rng, len(audio)), NOISE_FLOOR_DB).astype(np.float32)
    frame = pd.DataFrame(words, columns=["keyword", "start", "end"])
    return Recording(np.clip(audio, -1.0, 1.0).astype(np.float32), sample_rate, frame)


def score(detections: pd.DataFrame, words: pd.DataFrame, tolerance: float) -> dict[str, float]:
    """Precision, recall and unmatched detections; each word matches one detection at most,
    the one closest in time."""
    used = np.zeros(len(words), bool)
    correct = located = 0
    for row in detections.itertuples():
        near = (np.abs(words["start"] - row.start) <= tolerance) & (
            np.abs(words["end"] - row.end) <= tolerance
        )
        if near.any():
            located += 1
        candidates = np.flatnonzero(near & (words["keyword"] == row.keyword) & ~used)
        if len(candidates):
            distance = np.abs(words["start"].to_numpy()[candidates] - row.start)
            used[candidates[np.argmin(distance)]] = True
            correct += 1
    found = len(detections)
    return {
        "detections": found,
        "correct": correct,
        "located": located,
        "precision": correct / found if found else 0.0,
        "recall": correct / len(words),
        "false_alarms": found - correct,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    recipe_runs.select_device("cpu")
    import toolkit
    from toolkit.audio.io import read_audio

    root = fsdd_common.check_fsdd(args.fsdd)
    first = toolkit.load(args.run_dir[0])
    rate = first.sample_rate
    paths = sorted((root / "recordings").glob("*.wav"))
    test = [path for path in paths if int(path.stem.split("_")[2]) < 5]
    clips = [read_audio(path, rate) for path in test]
    labels = [path.stem.split("_")[0] for path in test]
    recording = build_recording(clips, labels, rate, args.seed)
    duration = len(recording.audio) / rate

    rows, figures = [], []
    for index, run_dir in enumerate(args.run_dir):
        measured = measure_run(run_dir, recording, Path(args.output) / str(index), args.tolerance)
        figures.append(measured)
        rows.append(row(f"`{recipe_runs.display_path(Path(run_dir))}`", measured, duration))
    if len(figures) > 1:
        rows.append(mean_row(figures, duration))
    for setting in args.compare_run:
        name, run_dir = setting.split("=", 1)
        model = toolkit.load(run_dir)
        detections, seconds = timed_detect(model, recording)
        measured = {**score(detections, recording.words, args.tolerance), "seconds": seconds}
        rows.append(row(name, {**measured, "same": "-", "stream_seconds": float("nan")}, duration))

    settings = first.detection_settings()
    notes = [
        "Runs: " + "; ".join(training_of(run_dir) for run_dir in args.run_dir) + ".",
        f"Recording: {duration / 60:.1f} min, {len(recording.words)} words, seed {args.seed}; "
        f"a detection is correct with its digit and start and end each within ±{args.tolerance} "
        "s of the word's.",
        f"Detection settings (the defaults): hop {settings.hop_ms:g} ms, smoothing "
        f"{settings.smoothing_ms:g} ms, threshold {settings.threshold:g}; chosen before the "
        "benchmark and not tuned on it.",
        "Detections / correct / located: all detections, those matching a word with its digit, "
        "those matching a word's time whatever the digit.",
        "False alarms an hour: detections matching no word with its digit. Same: the "
        "SavedModel's `detect` signature and its `stream` signature fed 100 ms chunks give the "
        "run's detections (keywords and times equal, scores within 1e-4).",
        "RTF: seconds of computing per second of audio on this machine's CPU, for "
        "`toolkit.load(run).detect` (its graph built in the call) and for the `stream` "
        "signature (one call per 100 ms chunk, after a warm-up call).",
    ]
    results.report(
        "keyword_detection",
        "Keyword detection in a long recording: FSDD test clips between silence and noise",
        [
            "run",
            "precision",
            "recall",
            "false alarms / hour",
            "detections",
            "same",
            "RTF",
            "stream RTF",
        ],
        rows,
        notes,
        record=not args.no_record,
    )
    return 0


def training_of(run_dir: str) -> str:
    """How a run was trained, from its resolved recipe: model, seed, ensemble, background."""
    from toolkit import runner

    recipe = runner.open_run(run_dir).recipe
    task, train = recipe.component("task"), recipe.train
    return (
        f"{recipe.component('model')['type']} seed {train.seed}, ensemble {train.ensemble}, "
        f"{train.epochs} epochs, task.background_share {task.get('background_share', 0.0)}"
    )


def timed_detect(model, recording: Recording) -> tuple[pd.DataFrame, float]:
    started = time.perf_counter()
    detections = model.detect(recording.audio, sample_rate=recording.sample_rate)
    return detections, time.perf_counter() - started


def measure_run(run_dir: str, recording: Recording, output: Path, tolerance: float) -> dict:
    """Detections of the run, of its SavedModel whole and streamed: scores and times."""
    import tensorflow as tf

    import toolkit

    model = toolkit.load(run_dir)
    detections, seconds = timed_detect(model, recording)
    loaded = tf.saved_model.load(str(model.export(output / "saved_model", force=True)))
    whole = frame_of(loaded.signatures["detect"](waveform=tf.constant(recording.audio)))
    streamed, stream_seconds = stream(loaded, recording)
    same = all(
        len(other) == len(detections)
        and list(other["keyword"]) == list(detections["keyword"])
        and np.allclose(other["start"], detections["start"], atol=1e-6)
        and np.allclose(other["end"], detections["end"], atol=1e-6)
        and np.allclose(other["score"], detections["score"], atol=1e-4)
        for other in (whole, streamed)
    )
    return {
        **score(detections, recording.words, tolerance),
        "seconds": seconds,
        "stream_seconds": stream_seconds,
        "same": "yes" if same else "no",
    }


def stream(loaded, recording: Recording) -> tuple[pd.DataFrame, float]:
    """The `stream` signature fed 100 ms chunks, then the flush; detections and seconds."""
    import tensorflow as tf

    signature = loaded.signatures["stream"]
    metadata = loaded.metadata()
    rate = recording.sample_rate
    size = int(metadata["stream_state_size"].numpy())
    flush = int(metadata["stream_flush_samples"].numpy())
    audio = np.concatenate([recording.audio, np.zeros(flush, np.float32)])
    chunk = rate // 10

    def feed(state, position, piece):
        return signature(
            chunk=tf.constant(piece),
            sample_rate=tf.constant(rate),
            state=state,
            position=position,
        )

    feed(tf.zeros([size]), tf.constant(0, tf.int64), audio[:chunk])  # traces and compiles
    state, position = tf.zeros([size]), tf.constant(0, tf.int64)
    parts = []
    started = time.perf_counter()
    for offset in range(0, len(audio), chunk):
        outputs = feed(state, position, audio[offset : offset + chunk])
        state, position = outputs["state"], outputs["position"]
        if int(tf.size(outputs["keywords"])):
            parts.append(frame_of(outputs))
    seconds = time.perf_counter() - started
    return (pd.concat(parts, ignore_index=True) if parts else frame_of(outputs)), seconds


def row(name: str, measured: dict, duration: float) -> list[str]:
    return [
        name,
        f"{measured['precision']:.2%}",
        f"{measured['recall']:.2%}",
        f"{measured['false_alarms'] * 3600 / duration:.0f}",
        f"{measured['detections']} / {measured['correct']} / {measured['located']}",
        measured["same"],
        f"{measured['seconds'] / duration:.4f}",
        "-"
        if np.isnan(measured["stream_seconds"])
        else f"{measured['stream_seconds'] / duration:.3f}",
    ]


def mean_row(figures: list[dict], duration: float) -> list[str]:
    def spread(values, scale: float = 1.0, digits: str = ".2f") -> str:
        values = np.asarray(values, float) * scale
        return f"{values.mean():{digits}} ± {values.std(ddof=1):{digits}}"

    return [
        f"mean ± sd of {len(figures)}",
        spread([f["precision"] for f in figures], 100) + "%",
        spread([f["recall"] for f in figures], 100) + "%",
        spread([f["false_alarms"] for f in figures], 3600 / duration, ".0f"),
        "",
        "yes" if all(f["same"] == "yes" for f in figures) else "no",
        spread([f["seconds"] for f in figures], 1 / duration, ".4f"),
        spread([f["stream_seconds"] for f in figures], 1 / duration, ".3f"),
    ]


def frame_of(outputs: dict) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "keyword": [value.decode("utf-8") for value in outputs["keywords"].numpy()],
            "start": outputs["starts"].numpy(),
            "end": outputs["ends"].numpy(),
            "score": outputs["scores"].numpy(),
        }
    )


if __name__ == "__main__":
    sys.exit(main())
