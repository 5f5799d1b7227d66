"""Log-mel feature speed: a per-file librosa loop against the in-graph LogMelSpectrogram layer.

    python benchmarks/feature_speed.py --clips 500 --sample-rate 16000

Generates one-second speech-like clips in memory (harmonic tones with a moving pitch and
syllable-like envelopes, plus a little noise), then times, with the same settings
(normalization none), (a) `toolkit.audio.reference.librosa_log_mel` on one clip at a time
and (b) the `LogMelSpectrogram` layer inside a `tf.function` on batches, after a warm-up.
Each is repeated and the best repeat is kept. Prints a table and updates the
`feature_speed` section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import results  # noqa: E402

SECTION = "feature_speed"
# One settings dict for both implementations (the layer's defaults, written out).
SETTINGS = {
    "window_ms": 25.0,
    "hop_ms": 10.0,
    "fft_length": None,
    "num_mel_bins": 40,
    "fmin": 20.0,
    "fmax": None,
    "mel_scale": "slaney",
    "log_offset": 1e-6,
    "center": True,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=500, help="Number of clips (default 500).")
    parser.add_argument("--sample-rate", type=int, default=16000, help="Hz (default 16000).")
    parser.add_argument("--duration", type=float, default=1.0, help="Seconds per clip.")
    parser.add_argument("--batch-size", type=int, default=64, help="Layer batch size.")
    parser.add_argument("--repeats", type=int, default=3, help="Timed repeats; the best is kept.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", choices=["auto", "cpu", "gpu"], default="auto")
    results.add_record_argument(parser)
    args = parser.parse_args(argv)
    if args.clips < 1 or args.batch_size < 1 or args.repeats < 1 or args.duration <= 0:
        parser.error("--clips, --batch-size, --repeats and --duration must be positive")
    return args


def speech_like_clips(count: int, sample_rate: int, duration: float, seed: int) -> np.ndarray:
    """[count, samples] float32: voiced harmonics with a gliding pitch, bursts, and noise."""
    rng = np.random.default_rng(seed)
    samples = int(round(sample_rate * duration))
    t = np.arange(samples) / sample_rate
    clips = np.empty((count, samples), dtype=np.float32)
    for index in range(count):
        start_pitch, end_pitch = rng.uniform(90.0, 260.0, size=2)
        pitch = np.linspace(start_pitch, end_pitch, samples)
        phase = 2.0 * np.pi * np.cumsum(pitch) / sample_rate
        voiced = sum(
            rng.uniform(0.2, 1.0) / harmonic * np.sin(harmonic * phase + rng.uniform(0, 2 * np.pi))
            for harmonic in range(1, 11)
        )
        syllables = rng.uniform(2.0, 6.0)
        envelope = np.clip(np.sin(np.pi * syllables * t + rng.uniform(0, np.pi)), 0.0, None) ** 2
        noise = rng.normal(0.0, 1.0, samples) * rng.uniform(0.005, 0.05)
        clip = envelope * voiced + noise
        clips[index] = 0.5 * clip / np.max(np.abs(clip))
    return clips


def time_librosa(
    clips: np.ndarray, sample_rate: int, repeats: int, blas_threads: int | None = None
) -> tuple[float, np.ndarray]:
    """Best time of the per-clip loop; `blas_threads` caps NumPy's BLAS threads meanwhile."""
    import contextlib

    from toolkit.audio.reference import librosa_log_mel

    limit = contextlib.nullcontext()
    if blas_threads is not None:
        from threadpoolctl import threadpool_limits

        limit = threadpool_limits(limits=blas_threads, user_api="blas")
    best = float("inf")
    first = None
    with limit:
        for _ in range(repeats):
            started = time.perf_counter()
            outputs = [librosa_log_mel(clip, sample_rate, **SETTINGS) for clip in clips]
            best = min(best, time.perf_counter() - started)
            first = outputs[0]
    return best, first


def blas_threads() -> str:
    """NumPy's BLAS library and its thread count, as threadpoolctl sees them."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown"
    found = [
        f"{pool['internal_api']} {pool['num_threads']} threads"
        for pool in threadpool_info()
        if pool["user_api"] == "blas"
    ]
    return ", ".join(found) or "none found"


def time_layer(
    clips: np.ndarray, sample_rate: int, batch_size: int, repeats: int, jit_compile: bool = False
) -> tuple[float, np.ndarray]:
    import tensorflow as tf

    from toolkit.audio.features import LogMelSpectrogram

    layer = LogMelSpectrogram(sample_rate=sample_rate, normalization="none", **SETTINGS)

    @tf.function(
        input_signature=[tf.TensorSpec([None, clips.shape[1]], tf.float32)],
        jit_compile=jit_compile,
    )
    def features(waveforms):
        return layer(waveforms)

    batches = [
        tf.constant(clips[start : start + batch_size]) for start in range(0, len(clips), batch_size)
    ]
    # Warm-up: trace the graph and run every batch shape once.
    for batch in {int(batch.shape[0]): batch for batch in batches}.values():
        features(batch).numpy()
    best = float("inf")
    first = None
    for _ in range(repeats):
        started = time.perf_counter()
        outputs = [features(batch).numpy() for batch in batches]
        best = min(best, time.perf_counter() - started)
        first = outputs[0][0]
    return best, first


def ratio(value: float) -> str:
    return f"{value:.1f}x" if value >= 1 else f"{value:.2f}x"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    clips = speech_like_clips(args.clips, args.sample_rate, args.duration, args.seed)
    print(f"{len(clips)} clips of {args.duration:g} s at {args.sample_rate} Hz", flush=True)
    import librosa  # noqa: F401  (loads NumPy's BLAS before it is described)

    blas = blas_threads()
    librosa_seconds, librosa_first = time_librosa(clips, args.sample_rate, args.repeats)
    print(f"librosa loop: best of {args.repeats} = {librosa_seconds:.3f} s", flush=True)
    single_seconds = None
    if importlib.util.find_spec("threadpoolctl") is not None:
        single_seconds, _ = time_librosa(clips, args.sample_rate, args.repeats, blas_threads=1)
        print(
            f"librosa loop, BLAS on 1 thread: best of {args.repeats} = {single_seconds:.3f} s",
            flush=True,
        )
    layer_seconds, layer_first = time_layer(clips, args.sample_rate, args.batch_size, args.repeats)
    print(f"in-graph layer: best of {args.repeats} = {layer_seconds:.3f} s", flush=True)
    xla_seconds, xla_first = time_layer(
        clips, args.sample_rate, args.batch_size, args.repeats, jit_compile=True
    )
    print(f"in-graph layer, XLA: best of {args.repeats} = {xla_seconds:.3f} s", flush=True)

    if librosa_first.shape != layer_first.shape:
        raise SystemExit(
            f"error: feature shapes differ (librosa {librosa_first.shape}, layer "
            f"{layer_first.shape}): the settings are not the same"
        )
    difference = float(np.max(np.abs(librosa_first - layer_first)))
    xla_difference = float(np.max(np.abs(librosa_first - xla_first)))

    import tensorflow as tf

    # The speed-up is against the faster of the two librosa timings.
    reference = min(librosa_seconds, single_seconds or librosa_seconds)
    device = "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    headers = ["implementation", "clips/s", f"seconds for {len(clips)} clips", "speed-up"]
    timings = [(f"librosa `librosa_log_mel`, one clip at a time (BLAS: {blas})", librosa_seconds)]
    if single_seconds is not None:
        timings.append(
            ("librosa `librosa_log_mel`, one clip at a time, BLAS limited to 1 thread",
             single_seconds)
        )  # fmt: skip
    timings.append(
        (f"`LogMelSpectrogram` in `tf.function`, batches of {args.batch_size} ({device})",
         layer_seconds)
    )  # fmt: skip
    timings.append(
        (f"`LogMelSpectrogram` in `tf.function(jit_compile=True)` (XLA), batches of "
         f"{args.batch_size} ({device})", xla_seconds)
    )  # fmt: skip
    rows = [
        [name, f"{len(clips) / seconds:,.0f}", f"{seconds:.3f}", ratio(reference / seconds)]
        for name, seconds in timings
    ]
    notes = [
        f"{len(clips)} synthetic speech-like clips of {args.duration:g} s at "
        f"{args.sample_rate} Hz, generated in memory (no file reading in either timing).",
        "Settings (both): "
        + ", ".join(f"{key}={value}" for key, value in SETTINGS.items())
        + ", normalization none; output "
        f"{layer_first.shape[0]} frames x {layer_first.shape[1]} mel bins per clip.",
        "Speed-up is relative to the faster librosa row. "
        f"Best of {args.repeats} timed repeats each; the layer is traced and run once on every "
        "batch shape before timing, and its outputs are copied back to NumPy inside the timing.",
        "Largest absolute difference from librosa on the first clip: "
        f"{difference:.2e} (layer), {xla_difference:.2e} (layer under XLA), natural-log units.",
        f"TensorFlow threads: intra-op {tf.config.threading.get_intra_op_parallelism_threads()}, "
        f"inter-op {tf.config.threading.get_inter_op_parallelism_threads()} (0 = all cores); "
        "the librosa loop calls one clip at a time from Python.",
    ]
    results.report(
        SECTION,
        "Feature extraction speed (log-mel)",
        headers,
        rows,
        notes,
        record=not args.no_record,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
