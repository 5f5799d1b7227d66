"""FSDD few-shot: the own-data keyword recipe from the shipped speech_words model against the
same recipe from scratch, on a few recordings per speaker and digit.

    python benchmarks/fsdd_fewshot.py --fsdd ../shared/data/fsdd

Training sets are FSDD takes 5-9 of every speaker and digit (5 shots, 300 clips) and take 5
alone (1 shot, 60 clips); the test set is the official one (takes 0-4, 300 clips). For each,
`recipes/keyword_spotting/own_data.yaml` is trained unchanged (it starts from speech_words by
default) and with `--set model.pretrained=null`, on the same clips, with each of --seeds; the
MFCC + SVM baseline is fitted on the same clips. A zero-real-data row scores the shipped model's
own head, restricted to the ten digit words, on the test set without training on any recording.
Prints a table and updates the `fsdd_fewshot` section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import fsdd_common  # noqa: E402
import recipe_runs  # noqa: E402
import results  # noqa: E402

SECTION = "fsdd_fewshot"
RECIPE = "recipes/keyword_spotting/own_data.yaml"
PRETRAINED = "speech_words"
# Shots -> the FSDD takes each speaker and digit contributes to training.
TAKES = {5: range(5, 10), 1: range(5, 6)}
RUN_RECORD = "fewshot.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fsdd", required=True, help="FSDD root (the folder with recordings/).")
    parser.add_argument("--output", default="runs/bench_fsdd_fewshot")
    parser.add_argument("--shots", default="5,1", help="Comma-separated: 5 and/or 1.")
    parser.add_argument("--seeds", default="1234,1235,1236", help="train.seed of each run.")
    parser.add_argument(
        "--rows", default="pretrained,scratch", help="Toolkit rows to train: pretrained, scratch."
    )
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--device", choices=["auto", "cpu", "gpu"], default="cpu")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="Reuse runs already finished under --output with the same settings.",
    )
    results.add_record_argument(parser)
    return parser.parse_args(argv)


def write_manifests(root: Path, output: Path) -> dict[str, Path]:
    """test.csv (takes 0-4) and train_<shots>shot.csv manifests under `output`."""
    from toolkit.data.preparers import fsdd

    table = fsdd.read_recordings(root)
    output.mkdir(parents=True, exist_ok=True)
    frames = {"test": table[table["index"] < fsdd_common.TEST_TAKES]}
    for shots, takes in TAKES.items():
        frames[f"train_{shots}shot"] = table[table["index"].isin(list(takes))]
    paths = {}
    for name, frame in frames.items():
        paths[name] = output / f"{name}.csv"
        frame[["audio", "label", "speaker"]].to_csv(paths[name], index=False)
    return paths


def train_row(
    row: str, train: Path, test: Path, seed: int, run_dir: Path, args: argparse.Namespace
) -> dict:
    """One toolkit run (or the record of a finished one with the same settings)."""
    overrides = [f"data.train={train}", f"data.test={test}", f"train.seed={seed}"]
    if row == "scratch":
        overrides.append("model.pretrained=null")
    overrides += args.overrides
    record = run_dir / RUN_RECORD
    if args.resume and record.is_file():
        saved = json.loads(record.read_text())
        if saved["overrides"] == overrides:
            return saved["result"]
    result = fsdd_common.train_and_evaluate(
        fsdd_common.resolve_recipe(RECIPE), overrides, run_dir, args.device
    )
    record.write_text(json.dumps({"overrides": overrides, "result": result}, indent=2))
    return result


def zero_real_data(test: Path) -> dict:
    """The shipped model's own head, its outputs narrowed to the ten digit words, on `test`."""
    import keras
    import numpy as np
    import pandas as pd

    from toolkit import runner
    from toolkit.audio.tts import spoken_form
    from toolkit.finetuning import locate_source

    source = locate_source(PRETRAINED)
    task = runner.build_task(source.recipe)
    task.register_layers()
    model = keras.saving.load_model(source.model_path, compile=False)
    frame = pd.read_csv(test)
    words = [spoken_form(str(label)) for label in frame["label"]]
    frame = frame.assign(label=words)
    frame = task.check_splits({"test": frame}, on_error="raise", skipped=[])["test"]
    started = time.perf_counter()
    probabilities = model.predict(
        task.dataset(frame, batch_size=64, training=False, cache=False), verbose=0
    )
    seconds = time.perf_counter() - started
    digits = [task.labels.index(spoken_form(str(digit))) for digit in range(10)]
    truth = np.array([task.labels.index(word) for word in frame["label"]])
    narrowed = np.array(digits)[probabilities[:, digits].argmax(axis=1)]
    return {
        "accuracy": float((narrowed == truth).mean()),
        "accuracy_all_words": float((probabilities.argmax(axis=1) == truth).mean()),
        "examples": len(frame),
        "words": len(task.labels),
        "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    fsdd_common.select_device(args.device)
    root = fsdd_common.check_fsdd(args.fsdd)
    output = Path(args.output).resolve()
    manifests = write_manifests(root, output / "manifests")
    shots_list = [int(value) for value in args.shots.split(",")]
    seeds = [int(value) for value in args.seeds.split(",")]
    rows_wanted = [value.strip() for value in args.rows.split(",") if value.strip()]
    headers = ["training clips", "system", "test accuracy", "per seed", "train time (mean)"]
    rows = []
    for shots in shots_list:
        train = manifests[f"train_{shots}shot"]
        clips = sum(1 for _ in train.open()) - 1
        for row in rows_wanted:
            runs = [
                train_row(
                    row, train, manifests["test"], seed, output / f"{shots}shot_{row}_{seed}", args
                )
                for seed in seeds
            ]
            name = (
                f"own_data.yaml from {PRETRAINED}"
                if row == "pretrained"
                else "own_data.yaml, scratch"
            )
            rows.append(
                [
                    f"{clips} ({shots} per speaker and digit)",
                    name,
                    recipe_runs.spread([run["accuracy"] for run in runs]),
                    ", ".join(f"{100 * run['accuracy']:.1f}" for run in runs),
                    results.seconds(statistics.mean(run["seconds"] for run in runs)),
                ]
            )
        if not args.skip_baseline:
            import baselines
            import pandas as pd

            baseline = baselines.run_mfcc_svm(pd.read_csv(train), pd.read_csv(manifests["test"]))
            rows.append(
                [
                    f"{clips} ({shots} per speaker and digit)",
                    "MFCC + SVM",
                    f"{100 * baseline['accuracy']:.2f}%",
                    "",
                    results.seconds(baseline["fit_seconds"]),
                ]
            )
    zero = zero_real_data(manifests["test"])
    rows.append(
        [
            "0 (no recording)",
            f"{PRETRAINED}'s own head, digit words only",
            f"{100 * zero['accuracy']:.2f}%",
            "",
            "none",
        ]
    )
    notes = [
        "Test: FSDD's official test split, takes 0-4 of each of 6 speakers and 10 digits "
        "(300 clips). Training: takes 5-9 (5 shots) or take 5 (1 shot) of the same speakers.",
        f"Toolkit rows: {RECIPE} unchanged but for data.train, data.test and train.seed "
        f"(seeds {', '.join(map(str, seeds))}); the scratch row adds model.pretrained=null. "
        "Both mix the recipe's espeak-ng renderings of the label words into training. Train "
        "time is the fine-tuning or training itself, without the shipped model's own build.",
        f"Zero real data: {PRETRAINED} trained only on synthetic speech (espeak-ng and "
        "Flite), its output narrowed to the ten digit words; over all {zero['words']} words it picks the right one for "
        f"{100 * zero['accuracy_all_words']:.1f}% of the clips.",
    ]
    if args.overrides:
        notes.append(f"Settings changed with --set: {' '.join(args.overrides)}")
    results.report(
        SECTION,
        "FSDD few-shot: fine-tuned from the shipped speech_words model against from scratch",
        headers,
        rows,
        notes,
        not args.no_record,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
