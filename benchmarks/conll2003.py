"""CoNLL-2003 NER: the toolkit's BiLSTM-CNN-CRF recipe against a CRF with word features.

    python benchmarks/conll2003.py --conll ../shared/data/conll2003

Trains `recipes/sequence_tagging/conll2003.yaml` (data.root set to --conll) through the
toolkit's library calls, scores span F1 on the test split (CoNLL evaluation, seqeval), exports
the SavedModel and measures its throughput (sentences per second), then fits the baseline
(sklearn-crfsuite over word identity, shape and affix features of each token and its
neighbours; no POS or chunk columns, like the toolkit). Updates the `conll2003` section of
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import recipe_runs  # noqa: E402
import results  # noqa: E402

SECTION = "conll2003"
DEFAULT_RECIPE = "recipes/sequence_tagging/conll2003.yaml"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--conll", required=True, help="Folder with train.txt, valid.txt, test.txt."
    )
    parser.add_argument("--recipe", default=DEFAULT_RECIPE)
    parser.add_argument("--output", default="runs/bench_conll2003")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--device", choices=["auto", "cpu", "gpu"], default="cpu")
    parser.add_argument("--skip-baseline", action="store_true")
    results.add_record_argument(parser)
    return parser.parse_args(argv)


def token_features(tokens: list[str], i: int) -> dict[str, object]:
    """Identity, shape and affixes of token i and its neighbours."""
    features: dict[str, object] = {"bias": 1.0}
    for offset in (-1, 0, 1):
        j = i + offset
        if not 0 <= j < len(tokens):
            features[f"{offset}:edge"] = True
            continue
        word = tokens[j]
        features.update(
            {
                f"{offset}:lower": word.lower(),
                f"{offset}:title": word.istitle(),
                f"{offset}:upper": word.isupper(),
                f"{offset}:digit": word.isdigit(),
            }
        )
        if offset == 0:
            features.update(
                {
                    "suffix3": word[-3:],
                    "suffix2": word[-2:],
                    "prefix3": word[:3],
                    "hyphen": "-" in word,
                }
            )
    return features


def run_crf(train, test) -> dict:
    import sklearn_crfsuite
    from seqeval.metrics import f1_score

    def featurize(frame):
        return [
            [token_features(tokens, i) for i in range(len(tokens))] for tokens in frame["tokens"]
        ]

    started = time.perf_counter()
    crf = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=0.1, c2=0.1, max_iterations=100)
    crf.fit(featurize(train), list(train["tags"]))
    seconds = time.perf_counter() - started
    predicted = crf.predict(featurize(test))
    return {"f1": float(f1_score(list(test["tags"]), predicted)), "seconds": seconds}


def saved_model_throughput(export: Path, sentences: list[list[str]], batch_size: int = 64) -> float:
    """Sentences per second through the exported raw-sentence signature."""
    import tensorflow as tf

    serve = tf.saved_model.load(str(export)).signatures["serving_default"]
    texts = [" ".join(tokens) for tokens in sentences]
    return recipe_runs.items_per_second(
        lambda batch: serve(sentences=tf.constant(batch)), texts, batch_size
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    recipe_runs.select_device(args.device)
    from toolkit.data.preparers import conll2003

    root = Path(args.conll).expanduser().resolve()
    split = conll2003.prepare(root)
    output = Path(args.output).resolve()
    recipe = recipe_runs.resolve_recipe(args.recipe)
    toolkit = recipe_runs.train_and_evaluate(
        recipe,
        [f"data.root={root}", *args.overrides],
        output,
        args.device,
        export=True,
        metric="f1",
    )
    throughput = saved_model_throughput(
        output / "export" / "saved_model", list(split["test"]["tokens"])
    )
    rows = [
        [
            f"toolkit `{recipe_runs.display_path(recipe)}`",
            f"{100 * toolkit['score']:.2f}",
            results.seconds(toolkit["seconds"]),
            results.seconds(toolkit["wall_seconds"]),
        ]
    ]
    changed = ", ".join(args.overrides) if args.overrides else "none"
    notes = [
        f"Split: CoNLL-2003 train ({len(split['train'])} sentences), valid ({len(split.get('valid', []))}, "
        f"checkpoint selection on span F1), test ({len(split['test'])}). No pre-trained embeddings.",
        f"Toolkit: {toolkit['parameters']:,} parameters, {toolkit['epochs_run']} of {toolkit['epochs']} "
        f"epochs run; settings changed with --set: {changed}.",
        f"Exported SavedModel throughput on CPU: {throughput:,.0f} sentences/s at batch 64 (raw sentences in, "
        "tokenized and decoded with Viterbi in the graph; the test set).",
        "Span F1 is the CoNLL evaluation (seqeval, default mode) over the test set.",
    ]
    if not args.skip_baseline:
        crf = run_crf(split["train"], split["test"])
        rows.append(
            [
                "CRF, word features (sklearn-crfsuite, L-BFGS, c1 = c2 = 0.1)",
                f"{100 * crf['f1']:.2f}",
                results.seconds(crf["seconds"]),
                "",
            ]
        )
    headers = ["system", "test span F1", "train time", "total"]
    results.report(
        SECTION, "CoNLL-2003 English NER", headers, rows, notes, record=not args.no_record
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
