"""IMDB sentiment: the toolkit's recipe against fastText (bigrams) and TF-IDF + logistic regression.

    python benchmarks/imdb.py --imdb ../shared/data/imdb

Trains `recipes/text_classification/imdb.yaml` (data.root set to --imdb) through the toolkit's
library calls and scores it on the 25,000 test reviews, exports the SavedModel and measures its
throughput (reviews per second at batch 64, CPU), then fits the two baselines on the same split.
Prints a table and updates the `imdb` section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import recipe_runs  # noqa: E402
import results  # noqa: E402

SECTION = "imdb"
DEFAULT_RECIPE = "recipes/text_classification/imdb.yaml"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--imdb", required=True, help="IMDB root (aclImdb/ or train/test.jsonl).")
    parser.add_argument("--recipe", default=DEFAULT_RECIPE)
    parser.add_argument("--output", default="runs/bench_imdb")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--device", choices=["auto", "cpu", "gpu"], default="cpu")
    parser.add_argument("--skip-baselines", action="store_true")
    results.add_record_argument(parser)
    return parser.parse_args(argv)


def saved_model_throughput(export: Path, texts: list[str], batch_size: int = 64) -> float:
    """Reviews per second through the exported `serving_default`, batch by batch."""
    import tensorflow as tf

    serve = tf.saved_model.load(str(export)).signatures["serving_default"]
    return recipe_runs.items_per_second(
        lambda batch: serve(text=tf.constant(batch)), texts, batch_size
    )


def run_fasttext(train, test, seed: int = 1234) -> dict:
    """fastText supervised with word bigrams (its text-classification tutorial settings)."""
    import fasttext

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "train.txt"
        lines = [
            f"__label__{label} {' '.join(text.split())}"
            for text, label in zip(train["text"], train["label"], strict=True)
        ]
        # fastText reads the file in order: sorted by label, its SGD ends on one class.
        random.Random(seed).shuffle(lines)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        started = time.perf_counter()
        model = fasttext.train_supervised(str(path), wordNgrams=2, epoch=5, lr=0.5, verbose=0)
        seconds = time.perf_counter() - started
    predicted, _ = model.predict([" ".join(text.split()) for text in test["text"]])
    labels = [prediction[0].removeprefix("__label__") for prediction in predicted]
    return {"accuracy": float((test["label"].to_numpy() == labels).mean()), "seconds": seconds}


def run_tfidf_logistic(train, test) -> dict:
    """TF-IDF of word 1-2-grams (sublinear tf, min_df 2) and logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    started = time.perf_counter()
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    features = vectorizer.fit_transform(train["text"])
    model = LogisticRegression(C=10.0, max_iter=1000).fit(features, train["label"])
    seconds = time.perf_counter() - started
    predicted = model.predict(vectorizer.transform(test["text"]))
    return {
        "accuracy": float((predicted == test["label"].to_numpy()).mean()),
        "macro_f1": float(f1_score(test["label"], predicted, average="macro")),
        "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    recipe_runs.select_device(args.device)
    from toolkit.data.preparers import imdb

    root = Path(args.imdb).expanduser().resolve()
    split = imdb.prepare(root)
    output = Path(args.output).resolve()
    recipe = recipe_runs.resolve_recipe(args.recipe)
    toolkit = recipe_runs.train_and_evaluate(
        recipe, [f"data.root={root}", *args.overrides], output, args.device, export=True
    )
    throughput = saved_model_throughput(
        output / "export" / "saved_model", split["test"]["text"].tolist()[:4096]
    )
    rows = [
        [
            f"toolkit `{recipe_runs.display_path(recipe)}`",
            f"{toolkit['accuracy']:.2%}",
            results.seconds(toolkit["seconds"]),
            results.seconds(toolkit["wall_seconds"]),
        ]
    ]
    changed = ", ".join(args.overrides) if args.overrides else "none"
    notes = [
        f"Split: IMDB train ({len(split['train'])} reviews; {toolkit['valid_examples']} of them "
        f"held out for checkpoint selection) and test ({len(split['test'])} reviews). "
        "No pre-trained embeddings or external text.",
        f"Toolkit: {toolkit['parameters']:,} parameters, {toolkit['epochs_run']} of "
        f"{toolkit['epochs']} epochs run; settings changed with --set: {changed}. Train time "
        "is model.fit; total adds reading the data, building the vocabulary and evaluating.",
        f"Exported SavedModel throughput on CPU: {throughput:,.0f} reviews/s at batch 64 "
        "(raw text in, tokenized in the graph; first 4,096 test reviews).",
    ]
    if not args.skip_baselines:
        fast = run_fasttext(split["train"], split["test"])
        rows.append(
            [
                "fastText, word bigrams (5 epochs, lr 0.5)",
                f"{fast['accuracy']:.2%}",
                results.seconds(fast["seconds"]),
                "",
            ]
        )
        linear = run_tfidf_logistic(split["train"], split["test"])
        rows.append(
            [
                "TF-IDF 1-2-grams + logistic regression (C 10)",
                f"{linear['accuracy']:.2%}",
                results.seconds(linear["seconds"]),
                "",
            ]
        )
        notes.append("Baselines train on all 25,000 training reviews (no validation hold-out).")
    headers = ["system", "test accuracy", "train time", "total"]
    results.report(SECTION, "IMDB sentiment", headers, rows, notes, record=not args.no_record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
