"""The own-data templates against their linear baselines on datasets no recipe was tuned for.

    python benchmarks/own_data_templates.py --imdb ../shared/data/imdb --conll ../shared/data/conll2003

Each dataset is made from the shared data as a user would hand it over (a CSV of texts and
labels, or CoNLL files), then `recipes/<task>/own_data.yaml` runs on it unchanged (its
`train.baseline` fits the baseline on the same splits in the same run): the network's test
score, the baseline's, the margin, and the model the template keeps (the better of the two on
validation), with the time each took. Datasets:

- imdb_1k, imdb_5k: 1,000 or 5,000 training reviews (balanced, seeded sample);
- imdb_first_sentence: only each review's first sentence (5,000 reviews);
- imdb_ratings: four rating bands (1-2, 3-4, 7-8, 9-10 stars; 5,000 reviews);
- conll_pos, conll_chunk: CoNLL-2003's part-of-speech and chunk columns through the tagging
  template (`task.tag_column`), on the first `--conll-sentences` training sentences.

IMDB test sets are 5,000 seeded test reviews (the same for every IMDB dataset); CoNLL's is its
test split. Updates the `own_data_templates` section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import recipe_runs  # noqa: E402
import results  # noqa: E402

SECTION = "own_data_templates"
IMDB_DATASETS = ("imdb_1k", "imdb_5k", "imdb_first_sentence", "imdb_ratings")
CONLL_DATASETS = ("conll_pos", "conll_chunk")
TEST_REVIEWS = 5000
SEED = 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--imdb", help="IMDB folder with train.jsonl and test.jsonl.")
    parser.add_argument("--conll", help="CoNLL-2003 folder with train.txt, valid.txt, test.txt.")
    parser.add_argument(
        "--datasets",
        default=",".join(IMDB_DATASETS + CONLL_DATASETS),
        help="Comma-separated datasets to run (default: all whose data is given).",
    )
    parser.add_argument("--conll-sentences", type=int, default=14041)
    parser.add_argument("--output", default="runs/bench_own_data")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--device", choices=["auto", "cpu", "gpu"], default="cpu")
    results.add_record_argument(parser)
    return parser.parse_args(argv)


def first_sentence(text: str) -> str:
    text = re.sub(r"<br\s*/?>", " ", text).strip()
    return re.split(r"(?<=[.!?])\s+", text, maxsplit=1)[0]


def rating_band(rating: int) -> str:
    return {1: "1-2", 2: "1-2", 3: "3-4", 4: "3-4", 7: "7-8", 8: "7-8"}.get(rating, "9-10")


def imdb_dataset(name: str, imdb: Path, folder: Path) -> dict[str, str]:
    """train.csv and test.csv for one IMDB dataset; returns the recipe overrides."""
    import pandas as pd

    train = pd.read_json(imdb / "train.jsonl", lines=True)
    test = pd.read_json(imdb / "test.jsonl", lines=True)
    size = 1000 if name == "imdb_1k" else 5000
    column = "label"
    if name == "imdb_ratings":
        train = train.assign(band=train["rating"].map(rating_band))
        test = test.assign(band=test["rating"].map(rating_band))
        column = "band"
    train = train.groupby(column).sample(frac=size / len(train), random_state=SEED)
    test = test.sample(n=TEST_REVIEWS, random_state=SEED)
    if name == "imdb_first_sentence":
        train = train.assign(text=train["text"].map(first_sentence))
        test = test.assign(text=test["text"].map(first_sentence))
    folder.mkdir(parents=True, exist_ok=True)
    for split, frame in (("train", train), ("test", test)):
        frame[["text", column]].rename(columns={column: "label"}).to_csv(
            folder / f"{split}.csv", index=False
        )
    return {"data.train": str(folder / "train.csv"), "data.test": str(folder / "test.csv")}


def conll_dataset(name: str, conll: Path, folder: Path, sentences: int) -> dict[str, str]:
    """The first `sentences` training sentences and the test split, tagged by one column."""
    folder.mkdir(parents=True, exist_ok=True)
    blocks = [
        block
        for block in (conll / "train.txt").read_text().split("\n\n")
        if block.strip() and not block.startswith("-DOCSTART-")
    ]
    (folder / "train.txt").write_text("\n\n".join(blocks[:sentences]) + "\n")
    return {
        "data.train": str(folder / "train.txt"),
        "data.test": str(conll / "test.txt"),
        "task.tag_column": "1" if name == "conll_pos" else "2",
    }


def run_template(task: str, overrides: dict[str, str], extra: list[str], run_dir: Path, device):
    from toolkit import runner
    from toolkit.cli.common import setup_logging
    from toolkit.recipes import load_recipe

    recipe = load_recipe(
        f"recipes/{task}/own_data.yaml",
        [f"{key}={value}" for key, value in overrides.items()] + extra,
    )
    recipe_runs.fresh(run_dir)
    setup_logging(run_dir)
    started = time.perf_counter()
    run = runner.train(recipe, run_dir, device=device)
    runner.evaluate(run)
    wall = time.perf_counter() - started
    metrics = json.loads((run_dir / "metrics.json").read_text())
    training = json.loads((run_dir / "training.json").read_text())
    record = training["baseline"]
    metric = record["metric"]
    chosen = record["selected"]
    test = {
        name: metrics["test"][metric] if name == chosen else metrics[name]["test"][metric]
        for name in ("network", "baseline")
    }
    return {
        # Tagging files span F1 as f1, or token accuracy for tags without a scheme (POS).
        "metric": (
            ("span F1" if "precision" in metrics["test"] else "token accuracy")
            if task == "sequence_tagging"
            else metric
        ),
        "network": test["network"],
        "baseline": test["baseline"],
        "kept": {"blend": "average"}.get(chosen, chosen),
        "kept_score": metrics["test"][metric],
        "valid_network": record["valid"]["network"],
        "valid_baseline": record["valid"]["baseline"],
        "network_seconds": training["seconds"],
        "baseline_seconds": record["seconds"],
        "wall_seconds": wall,
        "train_examples": training["train_examples"],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    recipe_runs.select_device(args.device)
    output = Path(args.output)
    rows, markdown_rows = [], []
    for name in [n.strip() for n in args.datasets.split(",") if n.strip()]:
        if name in IMDB_DATASETS and args.imdb:
            overrides = imdb_dataset(name, Path(args.imdb), output / "data" / name)
            task = "text_classification"
        elif name in CONLL_DATASETS and args.conll:
            overrides = conll_dataset(
                name, Path(args.conll), output / "data" / name, args.conll_sentences
            )
            task = "sequence_tagging"
        else:
            continue
        print(f"== {name}", flush=True)
        found = run_template(task, overrides, args.overrides, output / name, args.device)
        margin = 100 * (found["network"] - found["baseline"])
        row = [
            name,
            found["train_examples"],
            found["metric"],
            f"{100 * found['network']:.2f}",
            f"{100 * found['baseline']:.2f}",
            f"{margin:+.2f}",
            f"{found['kept']} ({100 * found['kept_score']:.2f})",
            results.seconds(found["network_seconds"]),
            results.seconds(found["baseline_seconds"]),
        ]
        rows.append(row)
        markdown_rows.append(row)
    results.report(
        SECTION,
        "Own-data templates against their linear baselines",
        [
            "dataset",
            "train rows",
            "test metric",
            "template network",
            "baseline",
            "margin (points)",
            "kept (better on validation)",
            "network time",
            "baseline time",
        ],
        rows,
        [
            "Each row is one run of the own-data template as committed, its baseline fitted in "
            "the same run on the same splits (10% of train held out for validation, seed "
            "1234). Kept: what `train.baseline: select` made the run's model, the best on "
            "validation of the network, the baseline and (classifiers) the two averaged; its "
            "test score in brackets.",
            "Baselines: TF-IDF word 1-2-grams + logistic regression (text), CRF over word "
            "features with CRFsuite (tagging); C chosen on validation.",
        ],
        not args.no_record,
        markdown_rows,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
