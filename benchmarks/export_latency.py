"""Batch-1 latency of an exported SavedModel, loaded with plain TensorFlow.

    python benchmarks/export_latency.py --model runs/bench_fsdd/export/saved_model --runs 200

Loads the SavedModel with `tf.saved_model.load` (no toolkit code), reads the sample rate and
clip length from its `metadata` function, and times single calls of the `serving_default`
signature on a random waveform and of the `wav_bytes` signature on the same clip encoded as
16-bit WAV in memory, after a warm-up. Prints median and p90 milliseconds and updates the
`export_latency` section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import results  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", required=True, help="SavedModel folder, e.g. RUN_DIR/export/saved_model."
    )
    parser.add_argument("--runs", type=int, default=200, help="Timed calls (default 200).")
    parser.add_argument("--warmup", type=int, default=20, help="Untimed calls first (default 20).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", choices=["auto", "cpu", "gpu"], default="auto")
    parser.add_argument(
        "--section",
        default="export_latency",
        help="RESULTS.md section to write (default export_latency), to keep several models.",
    )
    results.add_record_argument(parser)
    args = parser.parse_args(argv)
    if args.runs < 1 or args.warmup < 0:
        parser.error("--runs must be positive and --warmup not negative")
    return args


def latencies(call, runs: int, warmup: int) -> np.ndarray:
    """Milliseconds for each of `runs` calls, after `warmup` untimed ones."""
    for _ in range(warmup):
        call()
    timings = np.empty(runs)
    for index in range(runs):
        started = time.perf_counter()
        call()
        timings[index] = time.perf_counter() - started
    return timings * 1000.0


def wav_bytes(waveform: np.ndarray, sample_rate: int) -> bytes:
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, waveform, sample_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def folder_size(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    model_path = Path(args.model)
    if not (model_path / "saved_model.pb").is_file():
        raise SystemExit(f"error: {model_path}: not a SavedModel folder (no saved_model.pb)")

    import tensorflow as tf

    started = time.perf_counter()
    model = tf.saved_model.load(str(model_path))
    load_seconds = time.perf_counter() - started
    metadata = model.metadata()
    sample_rate = int(metadata["sample_rate"])
    clip_samples = int(metadata["clip_samples"])
    labels = [label.decode() for label in metadata["labels"].numpy()]

    rng = np.random.default_rng(args.seed)
    clip = rng.uniform(-0.5, 0.5, clip_samples).astype(np.float32)
    waveforms = tf.constant(clip[None, :])
    encoded = tf.constant([wav_bytes(clip, sample_rate)])
    serving = model.signatures["serving_default"]
    from_wav = model.signatures["wav_bytes"]

    def call_waveforms():
        return serving(waveforms=waveforms)["label"].numpy()

    def call_wav_bytes():
        return from_wav(wav_bytes=encoded)["label"].numpy()

    # Both signatures must agree on the same clip (up to 16-bit quantisation of the WAV).
    agree = call_waveforms()[0] == call_wav_bytes()[0]
    headers = ["signature", "input", "median ms", "p90 ms", "mean ms", "calls"]
    rows = []
    for name, call, described in (
        ("serving_default", call_waveforms, f"float32 [1, {clip_samples}]"),
        ("wav_bytes", call_wav_bytes, f"16-bit WAV, {len(encoded.numpy()[0]):,} bytes"),
    ):
        print(f"timing {name}: {args.warmup} warm-up + {args.runs} calls", flush=True)
        timings = latencies(call, args.runs, args.warmup)
        rows.append(
            [
                f"`{name}`",
                described,
                f"{np.median(timings):.2f}",
                f"{np.percentile(timings, 90):.2f}",
                f"{timings.mean():.2f}",
                str(args.runs),
            ]
        )

    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    notes = [
        f"Model `{model_path}`: {len(labels)} labels, {sample_rate} Hz, {clip_samples} samples "
        f"per clip, {folder_size(model_path) / 1e6:.1f} MB on disk; loaded in "
        f"{load_seconds:.1f} s.",
        f"Batch 1 on {device}; a uniform random waveform of one clip length (seed {args.seed}); "
        f"{args.warmup} untimed warm-up calls, then {args.runs} timed calls, each including "
        "reading the label back to NumPy.",
        "Both signatures gave the same label on the clip."
        if agree
        else "The two signatures gave different labels on the clip (16-bit quantisation of a "
        "random waveform can flip a low-confidence prediction).",
        f"TensorFlow threads: intra-op {tf.config.threading.get_intra_op_parallelism_threads()}, "
        f"inter-op {tf.config.threading.get_inter_op_parallelism_threads()} (0 = all cores).",
    ]
    title = "Exported SavedModel latency (batch 1)"
    if args.section != "export_latency":
        title += f": {args.section}"
    results.report(args.section, title, headers, rows, notes, record=not args.no_record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
