"""Text, a new label set: IMDB rating bands from 1,000 reviews, fine-tuned from the IMDB
sentiment run against the own-data recipe from scratch and TF-IDF + logistic regression.

    python benchmarks/imdb_rating_finetune.py --imdb ../shared/data/imdb

The source is `recipes/text_classification/imdb.yaml` trained on IMDB train (positive or
negative), or the run given with --source. The new task is the star-rating band of a review
("1-2", "3-4", "7-8", "9-10"; IMDB has no 5 or 6): --per-band reviews of each band are drawn
from IMDB train with --sample-seed (1,000 in all), and the whole IMDB test split (25,000) is
scored. Both are written as `text`,`label` CSV manifests under --output. For each of --seeds,
`toolkit finetune SOURCE --data train.csv --test test.csv --set train.seed=S` and
`toolkit run recipes/text_classification/own_data.yaml` with the same data and seed are run
through the library calls those commands make (without the export); the baseline is fitted
on the same 1,000 reviews. Prints a table and updates the `imdb_rating_finetune` section of
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import recipe_runs  # noqa: E402
import results  # noqa: E402

SECTION = "imdb_rating_finetune"
SOURCE_RECIPE = "recipes/text_classification/imdb.yaml"
SCRATCH_RECIPE = "recipes/text_classification/own_data.yaml"
# Star rating -> band; the labelled IMDB splits hold no 5 or 6 (nor 0, the unlabelled part).
BANDS = {1: "1-2", 2: "1-2", 3: "3-4", 4: "3-4", 7: "7-8", 8: "7-8", 9: "9-10", 10: "9-10"}
ROWS = ("finetuned", "scratch")
RUN_RECORD = "rating_run.json"
_FILE_NAME = re.compile(r"(?P<id>\d+)_(?P<rating>\d+)\.txt")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--imdb",
        required=True,
        help="IMDB root: aclImdb/ ([id]_[rating].txt files) or train/test.jsonl with `rating`.",
    )
    parser.add_argument("--output", default="runs/bench_imdb_rating_finetune")
    parser.add_argument(
        "--source",
        metavar="RUN_DIR",
        help="A finished IMDB sentiment run to fine-tune from (default: train one in "
        "OUTPUT/source).",
    )
    parser.add_argument("--per-band", type=int, default=250, help="Training reviews per band.")
    parser.add_argument("--sample-seed", type=int, default=0, help="Seed of the review draw.")
    parser.add_argument("--seeds", default="1234,1235,1236", help="train.seed of each run.")
    parser.add_argument(
        "--rows", default="finetuned,scratch", help="Toolkit rows to train: finetuned, scratch."
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="A setting for every toolkit run, the source's included (fine-tuning takes "
        "train.*, data.*, augment.* and finetune.* only), e.g. --set train.epochs=1.",
    )
    parser.add_argument("--device", choices=["auto", "cpu", "gpu"], default="cpu")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="Reuse runs already finished under --output with the same settings and data.",
    )
    results.add_record_argument(parser)
    return parser.parse_args(argv)


# Data --------------------------------------------------------------------------------


def read_jsonl_ratings(path: Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            record = json.loads(line)
            if not isinstance(record, dict) or "rating" not in record or "text" not in record:
                raise SystemExit(f"error: {path}: line {number}: no `text` and `rating`")
            rows.append({"text": record["text"], "rating": int(record["rating"])})
    return rows


def read_ratings(root: Path) -> dict:
    """Train and test reviews with their star rating, from either IMDB layout."""
    import pandas as pd

    from toolkit.data.preparers import imdb

    if all((root / f"{split}.jsonl").is_file() for split in imdb.SPLITS):
        # The preparer keeps only pos/neg; the rating is a field of each line.
        return {
            split: pd.DataFrame(read_jsonl_ratings(root / f"{split}.jsonl"))
            for split in imdb.SPLITS
        }
    tables = {}
    for split, frame in imdb.prepare(root).items():
        # aclImdb keeps the rating in the file name only: <split>/<pos|neg>/<id>_<rating>.txt
        ratings = [_FILE_NAME.fullmatch(Path(name).name) for name in frame["source"]]
        if not all(ratings):
            raise SystemExit(f"error: {root}: {split} reviews without [id]_[rating].txt names")
        tables[split] = frame.assign(rating=[int(match["rating"]) for match in ratings])
    return tables


def banded(frame):
    unknown = sorted(set(frame["rating"]) - BANDS.keys())
    if unknown:
        raise SystemExit(f"error: ratings {unknown} are not in IMDB's labelled bands 1-4, 7-10")
    return frame.assign(label=frame["rating"].map(BANDS))


def write_manifests(root: Path, output: Path, per_band: int, seed: int) -> dict[str, Path]:
    """train.csv (`per_band` reviews of each band, drawn with `seed`) and test.csv (all)."""
    tables = read_ratings(root)
    train = banded(tables["train"])
    counts = train["label"].value_counts()
    if counts.min() < per_band:
        raise SystemExit(
            f"error: band {counts.idxmin()} has {counts.min()} training reviews, "
            f"fewer than --per-band {per_band}"
        )
    sample = train.groupby("label", sort=True).sample(n=per_band, random_state=seed)
    frames = {
        "train": sample.sample(frac=1.0, random_state=seed),
        "test": banded(tables["test"]),
    }
    output.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in frames.items():
        paths[name] = output / f"{name}.csv"
        frame[["text", "label"]].to_csv(paths[name], index=False)
    return paths


# Runs --------------------------------------------------------------------------------


def read_run(run_dir: Path) -> dict:
    """Test metrics (metrics.json) and training time (training.json) of a finished run."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    if "test" not in metrics:
        raise SystemExit(f"error: {run_dir}: metrics.json has no test split")
    training = json.loads((run_dir / "training.json").read_text())
    return {
        "accuracy": float(metrics["test"]["accuracy"]),
        "macro_f1": float(metrics["test"].get("macro_f1", float("nan"))),
        "examples": int(metrics["test"].get("examples", 0)),
        "seconds": float(training["seconds"]),
        "train_examples": int(training["train_examples"]),
        "valid_examples": int(training["valid_examples"]),
        "parameters": int(training["parameters"]),
        "epochs_run": recipe_runs.epochs_run(run_dir),
    }


def source_run(args: argparse.Namespace, root: Path, output: Path) -> Path:
    """The sentiment run to fine-tune from: --source, or one trained in OUTPUT/source."""
    if args.source:
        return recipe_runs.finished_run(args.source)
    run_dir = output / "source"
    settings = {"recipe": SOURCE_RECIPE, "overrides": [f"data.root={root}", *args.overrides]}
    if not recipe_runs.reusable(run_dir / RUN_RECORD, settings, args.resume):
        recipe_runs.fresh(run_dir)
        recipe_runs.train_and_evaluate(
            recipe_runs.resolve_recipe(SOURCE_RECIPE), settings["overrides"], run_dir, args.device
        )
        (run_dir / RUN_RECORD).write_text(json.dumps(settings, indent=2))
    return run_dir


def toolkit_row(
    row: str,
    seed: int,
    manifests: dict[str, Path],
    source: Path,
    run_dir: Path,
    args: argparse.Namespace,
    data: str,
) -> dict:
    """One seed of a toolkit row (or the finished run with the same settings and data)."""
    from toolkit import finetuning
    from toolkit.recipes import load_recipe

    overrides = [f"train.seed={seed}", *args.overrides]
    settings: dict = {"row": row, "overrides": overrides, "data": data}
    if row == "finetuned":
        # A retrained source makes its fine-tuned runs stale.
        model = source / "model.keras"
        settings["source"] = [str(source), model.stat().st_mtime_ns]
    if not recipe_runs.reusable(run_dir / RUN_RECORD, settings, args.resume):
        recipe_runs.fresh(run_dir)
        if row == "finetuned":
            recipe = finetuning.finetune_recipe(
                source, data=manifests["train"], test=manifests["test"], overrides=overrides
            )
        else:
            places = [f"data.train={manifests['train']}", f"data.test={manifests['test']}"]
            recipe = load_recipe(recipe_runs.resolve_recipe(SCRATCH_RECIPE), places + overrides)
        recipe_runs.train_and_evaluate_recipe(recipe, run_dir, args.device)
        (run_dir / RUN_RECORD).write_text(json.dumps(settings, indent=2))
    return read_run(run_dir)


# Report ------------------------------------------------------------------------------


def source_note(source: Path, given: bool) -> str:
    """The source run's size, training time and sentiment accuracy, once."""
    training = json.loads((source / "training.json").read_text())
    metrics_path = source / "metrics.json"
    test = json.loads(metrics_path.read_text()).get("test") if metrics_path.is_file() else None
    scored = f", {100 * test['accuracy']:.2f}% on IMDB test (pos/neg)" if test else ""
    return (
        f"Source: {recipe_runs.display_path(source)}"
        f"{' (given with --source)' if given else f', `{SOURCE_RECIPE}` on IMDB train'}: "
        f"{training['train_examples']:,} reviews, "
        f"{training['parameters']:,} parameters, trained in "
        f"{results.seconds(training['seconds'])}{scored}."
    )


def finetune_note(run_dir: Path, runs: list[dict]) -> str:
    """What the fine-tuned runs kept of the source and how they trained (from a run's recipe)."""
    from toolkit.recipes import load_recipe

    recipe = load_recipe(run_dir / "recipe.resolved.yaml")
    model, train, settings = recipe.component("model"), recipe.train, recipe.finetune
    linear = model["type"] == "ngram_bag" and model.get("embedding_dim") is None
    kept = (
        "tokenizer and vocabulary (its model is linear over the n-gram bag: the backbone holds "
        "no weights)"
        if linear
        else f"tokenizer, vocabulary and {model['type']} backbone"
    )
    head = min(settings.head_epochs, train.epochs) if settings.freeze != "none" else 0
    steps = [f"{head} epoch(s) of the new head alone at learning rate {train.learning_rate:g}"]
    if train.epochs > head:
        lowered = train.learning_rate * settings.learning_rate_factor
        steps.append(f"{train.epochs - head} of everything at {lowered:g}")
    return (
        f"Fine-tuned: the source's {kept}, a new head for the 4 bands ("
        f"{len(settings.labels_kept or [])} labels shared with the source); the source "
        f"recipe's training settings: {', then '.join(steps)}, batch "
        f"{train.batch_size}; {runs[0]['train_examples']} reviews train and "
        f"{runs[0]['valid_examples']} select the checkpoint; epochs run per seed: "
        f"{', '.join(str(run['epochs_run']) for run in runs)}."
    )


def scratch_note(run_dir: Path, runs: list[dict]) -> str:
    """The own-data recipe's model and training, as its run resolved them."""
    from toolkit.recipes import load_recipe

    recipe = load_recipe(run_dir / "recipe.resolved.yaml")
    features, model, train = recipe.component("features"), recipe.component("model"), recipe.train
    return (
        f"Scratch: `{SCRATCH_RECIPE}` with data.train and data.test: word 1-"
        f"{features.get('ngrams', 1)}-grams (vocabulary from these reviews), {model['type']} "
        f"with embedding_dim {model.get('embedding_dim')}, up to {train.epochs} epochs at "
        f"learning rate {train.learning_rate:g}, batch {train.batch_size}; "
        f"{runs[0]['train_examples']} reviews train and {runs[0]['valid_examples']} select the "
        f"checkpoint; epochs run per seed: {', '.join(str(run['epochs_run']) for run in runs)}."
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    recipe_runs.select_device(args.device)
    import pandas as pd

    root = Path(args.imdb).expanduser().resolve()
    output = Path(args.output).resolve()
    seeds = [int(value) for value in args.seeds.split(",")]
    rows_wanted = [value.strip() for value in args.rows.split(",") if value.strip()]
    if set(rows_wanted) - set(ROWS):
        raise SystemExit(f"error: --rows: expected some of {', '.join(ROWS)}")
    manifests = write_manifests(root, output / "manifests", args.per_band, args.sample_seed)
    data = recipe_runs.fingerprint(manifests)
    train = pd.read_csv(manifests["train"], keep_default_na=False)
    test = pd.read_csv(manifests["test"], keep_default_na=False)
    source = source_run(args, root, output) if "finetuned" in rows_wanted else None

    headers = ["system", "test accuracy", "macro F1", "accuracy per seed", "train time (mean)"]
    rows = []
    runs_by_row = {}
    for row in rows_wanted:
        runs = [
            toolkit_row(row, seed, manifests, source, output / f"{row}_{seed}", args, data)
            for seed in seeds
        ]
        runs_by_row[row] = runs
        name = (
            "`toolkit finetune` from the IMDB sentiment run"
            if row == "finetuned"
            else "`own_data.yaml`, from scratch"
        )
        rows.append(
            [
                name,
                recipe_runs.spread([run["accuracy"] for run in runs]),
                recipe_runs.spread([run["macro_f1"] for run in runs]),
                ", ".join(f"{100 * run['accuracy']:.1f}" for run in runs),
                results.seconds(statistics.mean(run["seconds"] for run in runs)),
            ]
        )
    if not args.skip_baseline:
        import imdb

        baseline = imdb.run_tfidf_logistic(train, test)
        rows.append(
            [
                "TF-IDF 1-2-grams + logistic regression (C 10)",
                f"{100 * baseline['accuracy']:.2f}%",
                f"{100 * baseline['macro_f1']:.2f}%",
                "",
                results.seconds(baseline["seconds"]),
            ]
        )

    shares = test["label"].value_counts(normalize=True)
    notes = [
        f"Task: a review's star-rating band ({', '.join(dict.fromkeys(BANDS.values()))}). "
        f"Training: {len(train):,} IMDB train reviews, {args.per_band} of each band drawn "
        f"with seed {args.sample_seed}; test: all {len(test):,} IMDB test reviews "
        f"(always answering {shares.idxmax()} scores {100 * shares.max():.1f}%).",
        f"Toolkit rows: seeds {', '.join(map(str, seeds))} (train.seed), mean ± standard "
        "deviation; settings otherwise the defaults. Train time is training.json's: "
        "fitting, and for fine-tuning also loading the source model.",
    ]
    if "finetuned" in runs_by_row:
        notes.append(finetune_note(output / f"finetuned_{seeds[0]}", runs_by_row["finetuned"]))
    if "scratch" in runs_by_row:
        notes.append(scratch_note(output / f"scratch_{seeds[0]}", runs_by_row["scratch"]))
    if source is not None:
        notes.append(source_note(source, bool(args.source)))
    if not args.skip_baseline:
        notes.append(
            f"Baseline: fitted on all {len(train):,} training reviews (no validation hold-out)."
        )
    if args.overrides:
        notes.append(f"Settings changed with --set: {' '.join(args.overrides)}")
    results.report(
        SECTION,
        f"Text, a new label set: IMDB rating bands from {len(train):,} reviews",
        headers,
        rows,
        notes,
        not args.no_record,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
