"""Speech recognition backbones side by side on CPU: training-step and inference time.

    python benchmarks/speech_backbones.py

Builds the model of each recipe (DeepSpeech2 from `an4.yaml`, QuartzNet from
`ljspeech.yaml` by default) with a 28-character alphabet and times, on the same synthetic
batch of utterances (random lengths of 2-6 s, seed 0), one training step (forward, CTC loss,
backward, optimizer update) and one forward pass for inference. Updates the
`speech_backbones` section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import recipe_runs  # noqa: E402
import results  # noqa: E402

SECTION = "speech_backbones"
DEFAULT_RECIPES = [
    "recipes/speech_recognition/an4.yaml",
    "recipes/speech_recognition/ljspeech.yaml",
]
ALPHABET = list(" 'abcdefghijklmnopqrstuvwxyz")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipes", nargs="+", default=DEFAULT_RECIPES)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--steps", type=int, default=5, help="Timed steps (after one untimed).")
    results.add_record_argument(parser)
    return parser.parse_args(argv)


def time_recipe(recipe_path: str, batch_size: int, steps: int) -> dict:
    import keras
    import numpy as np
    import tensorflow as tf

    from toolkit import runner
    from toolkit.recipes import load_recipe
    from toolkit.speech.ctc import ctc_loss

    recipe = load_recipe(recipe_path)
    task = runner.build_task(recipe)
    task.alphabet = ALPHABET  # otherwise built from the training transcripts
    model = runner.build_model(recipe, task).model
    rng = np.random.default_rng(0)
    rate = task.sample_rate
    lengths = rng.integers(2 * rate, 6 * rate, size=batch_size).astype("int32")
    waveforms = np.zeros((batch_size, int(lengths.max())), dtype="float32")
    for row, length in enumerate(lengths):
        waveforms[row, :length] = rng.normal(0.0, 0.1, length)
    inputs = {"waveforms": tf.constant(waveforms), "lengths": tf.constant(lengths)}
    # Labels: 12 characters a second of audio, far below what either model can align.
    label_lengths = (lengths // rate * 12).astype("int32")
    labels = np.zeros((batch_size, int(label_lengths.max())), dtype="int32")
    for row, length in enumerate(label_lengths):
        labels[row, :length] = rng.integers(1, len(ALPHABET) + 1, length)
    labels = tf.constant(labels)
    optimizer = keras.optimizers.Adam(1e-4)

    @tf.function
    def train_step():
        with tf.GradientTape() as tape:
            logits = model(inputs, training=True)
            loss = tf.reduce_mean(ctc_loss(labels, logits))
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return loss

    @tf.function
    def infer():
        return model(inputs, training=False)

    def best_of(function) -> float:
        function()  # trace and warm up
        timings = []
        for _ in range(steps):
            started = time.perf_counter()
            float(tf.reduce_sum(function()))
            timings.append(time.perf_counter() - started)
        return float(np.median(timings))

    audio_seconds = float(lengths.sum()) / rate
    train_seconds = best_of(train_step)
    infer_seconds = best_of(infer)
    return {
        "recipe": Path(recipe_path).name,
        "model": recipe.component("model")["type"],
        "parameters": model.count_params(),
        "audio_seconds": audio_seconds,
        "train_seconds": train_seconds,
        "infer_seconds": infer_seconds,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    recipe_runs.select_device("cpu")
    rows = []
    measured = []
    for recipe in args.recipes:
        figures = time_recipe(recipe_runs.resolve_recipe(recipe), args.batch_size, args.steps)
        measured.append(figures)
        print(figures, flush=True)
    for figures in measured:
        rows.append(
            [
                f"`{figures['model']}` ({figures['recipe']})",
                f"{figures['parameters']:,}",
                f"{figures['train_seconds']:.2f}",
                f"{figures['audio_seconds'] / figures['train_seconds']:.0f}",
                f"{figures['infer_seconds'] * 1000:.0f}",
                f"{figures['infer_seconds'] / figures['audio_seconds']:.4f}",
            ]
        )
    headers = [
        "backbone (recipe)",
        "parameters",
        "train step s",
        "audio s trained per s",
        "inference ms",
        "inference real-time factor",
    ]
    notes = [
        f"One batch of {args.batch_size} synthetic utterances of 2-6 s "
        f"({measured[0]['audio_seconds']:.0f} s of audio, seed 0), a 28-character alphabet; "
        f"median of {args.steps} timed steps after one untimed.",
        "Train step: forward with SpecAugment and dropout, CTC loss, gradients, Adam update, "
        "in a tf.function. Inference: one forward pass to the logits (no decoding).",
    ]
    results.report(
        SECTION,
        "Speech recognition backbones: CPU speed",
        headers,
        rows,
        notes,
        record=not args.no_record,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
