"""FSDD official split: the toolkit's recipe against an MFCC statistics + SVM baseline.

    python benchmarks/fsdd_official.py --fsdd ../shared/data/fsdd

Trains `recipes/keyword_spotting/fsdd.yaml` (data.root set to --fsdd) through the toolkit's
library calls, scores it on the official test split (takes 0-4 of every speaker and digit,
300 clips), exports the SavedModel, then fits the baseline on the same split. Prints a table
and updates the `fsdd_official` section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import fsdd_common  # noqa: E402
import results  # noqa: E402

SECTION = "fsdd_official"
DEFAULT_RECIPE = "recipes/keyword_spotting/fsdd.yaml"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    fsdd_common.add_common_arguments(parser)
    parser.add_argument(
        "--recipe",
        default=DEFAULT_RECIPE,
        help=f"Recipe to train (default: {DEFAULT_RECIPE}, relative to the repository root).",
    )
    parser.add_argument(
        "--output", default="runs/bench_fsdd", help="Run directory (default: runs/bench_fsdd)."
    )
    results.add_record_argument(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    fsdd_common.select_device(args.device)
    root = fsdd_common.check_fsdd(args.fsdd)
    output = Path(args.output).resolve()
    if args.limit is not None:
        root = fsdd_common.subset_root(root, output.parent / f"{output.name}_subset", args.limit)

    from toolkit.data.preparers import fsdd

    split = fsdd.prepare(root)
    rows: list[list[str]] = []
    notes = [
        f"Split: FSDD official ({len(split['train'])} train clips, takes 5-49; "
        f"{len(split['test'])} test clips, takes 0-4 of every speaker and digit).",
    ]
    if args.limit is not None:
        notes = [
            f"**Subset run (--limit {args.limit}): not comparable with full runs.** "
            f"{len(split['train'])} train clips, {len(split['test'])} test clips.",
        ]

    recipe = fsdd_common.resolve_recipe(args.recipe)
    overrides = [f"data.root={root}", *args.overrides]
    toolkit = fsdd_common.train_and_evaluate(recipe, overrides, output, args.device, export=True)
    rows.append(
        [
            f"toolkit `{fsdd_common.display_path(recipe)}`",
            f"{toolkit['accuracy']:.2%}",
            f"{toolkit['errors']}/{toolkit['examples']}",
            f"{toolkit['macro_f1']:.4f}",
            results.seconds(toolkit["seconds"]),
        ]
    )
    changed = ", ".join(args.overrides) if args.overrides else "none"
    members = per_member = ""
    if toolkit["members"] > 1:
        members = f" ({toolkit['members']} models, their probabilities averaged: train.ensemble)"
        per_member = " (the longest-trained member)"
    notes.append(
        f"Toolkit: {toolkit['parameters']:,} parameters{members}, {toolkit['epochs_run']} of "
        f"{toolkit['epochs']} epochs run{per_member}, {toolkit['train_examples']} train / "
        f"{toolkit['valid_examples']} validation clips (validation carved out of train; "
        f"the model is the {toolkit['select']} checkpoint); recipe settings changed with "
        f"--set: {changed}; "
        f"train time is `training.json` seconds (model.fit, all epochs); reading and checking "
        f"the data, training and evaluating took {results.seconds(toolkit['wall_seconds'])} "
        f"in all; run directory `{fsdd_common.display_path(output)}`."
    )

    if not args.skip_baseline:
        import baselines

        baseline = baselines.run_mfcc_svm(split["train"], split["test"])
        rows.append(
            [
                "MFCC statistics + SVM",
                f"{baseline['accuracy']:.2%}",
                f"{baseline['errors']}/{baseline['examples']}",
                f"{baseline['macro_f1']:.4f}",
                f"{results.seconds(baseline['fit_seconds'])} (+ features "
                f"{results.seconds(baseline['feature_seconds'])})",
            ]
        )
        notes.append(
            f"Baseline: {baselines.DESCRIPTION}. Chosen C = {baseline['best_C']:g} "
            f"(cross-validation accuracy {baseline['cv_accuracy']:.2%}). Train time is the "
            "grid search and refit; feature extraction (reading and featurising train and test "
            "clips, one at a time) is shown beside it."
        )

    test_count = len(split["test"])
    headers = ["system", "test accuracy", f"errors/{test_count}", "macro F1", "train time"]
    results.report(SECTION, "FSDD, official split", headers, rows, notes, record=not args.no_record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
