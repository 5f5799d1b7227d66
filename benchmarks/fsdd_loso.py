"""FSDD leave-one-speaker-out through the own-data template, against MFCC statistics + SVM.

    python benchmarks/fsdd_loso.py --fsdd ../shared/data/fsdd

For each speaker, FSDD is laid out as one folder per digit, as a user would bring their own
data: the other speakers' recordings as the training folder, the held-out speaker's as the
test folder. `recipes/keyword_spotting/own_data.yaml` is trained unchanged, with only
data.train and data.test set (any --set given here is shown in the table). The baseline is
fitted on the same split. Prints a table and updates the `fsdd_loso` section of
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import fsdd_common  # noqa: E402
import results  # noqa: E402

SECTION = "fsdd_loso"
# Written into each fold's run directory once it is trained and scored (see --resume).
FOLD_RECORD = "fold.json"
DEFAULT_RECIPE = "recipes/keyword_spotting/own_data.yaml"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    fsdd_common.add_common_arguments(parser)
    parser.add_argument(
        "--recipe",
        default=DEFAULT_RECIPE,
        help=f"Recipe to train (default: {DEFAULT_RECIPE}, relative to the repository root).",
    )
    parser.add_argument(
        "--speakers",
        help="Comma-separated speakers to hold out, one fold each (default: every speaker).",
    )
    parser.add_argument(
        "--output",
        default="runs/bench_fsdd_loso",
        help="Folder for the class folders and one run directory per speaker "
        "(default: runs/bench_fsdd_loso).",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="Reuse the folds already finished under --output with the same recipe text and --set "
        "values (each fold leaves fold.json in its run directory), train only the others. Folds "
        "run in separate processes (e.g. one --speakers list each) can so be reported together.",
    )
    results.add_record_argument(parser)
    return parser.parse_args(argv)


def fold_identity(recipe: str, overrides: list[str]) -> dict:
    """What a fold was trained with: the recipe (its path and its text) and the overrides."""
    digest = hashlib.sha256(Path(recipe).read_bytes()).hexdigest()
    return {"recipe": recipe, "recipe_sha256": digest, "overrides": overrides}


def finished_fold(run_dir: Path, identity: dict) -> dict | None:
    """The toolkit figures of a fold already trained with the same recipe text and overrides."""
    record = run_dir / FOLD_RECORD
    if not record.is_file():
        return None
    saved = json.loads(record.read_text())
    if any(saved.get(key) != value for key, value in identity.items()):
        return None
    return saved["toolkit"]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    fsdd_common.select_device(args.device)
    root = fsdd_common.check_fsdd(args.fsdd)
    output = Path(args.output).resolve()
    if args.limit is not None:
        root = fsdd_common.subset_root(root, output / "fsdd_subset", args.limit)
    recipe = fsdd_common.resolve_recipe(args.recipe)
    if not Path(recipe).is_file():
        raise SystemExit(f"error: {args.recipe}: recipe file not found")

    from toolkit.data.preparers import fsdd

    table = fsdd.read_recordings(root)
    every_speaker = sorted(table["speaker"].unique())
    speakers = (
        [name.strip() for name in args.speakers.split(",") if name.strip()]
        if args.speakers
        else every_speaker
    )
    unknown = sorted(set(speakers) - set(every_speaker))
    if not speakers or unknown:
        raise SystemExit(
            f"error: --speakers: unknown speaker(s) {', '.join(unknown) or '(none given)'}; "
            f"FSDD has {', '.join(every_speaker)}"
        )

    features = None
    feature_seconds = 0.0
    if not args.skip_baseline:
        import baselines

        print(f"baseline: featurising {len(table)} clips", flush=True)
        features, feature_seconds = baselines.features_by_path(list(table["audio"]))

    folds, reused_speakers = [], []
    for speaker in speakers:
        others = [name for name in every_speaker if name != speaker]
        folders = output / "folders" / speaker
        if folders.exists():
            shutil.rmtree(folders)
        train_folder = fsdd.write_class_folders(root, folders / "train", speakers=others)
        test_folder = fsdd.write_class_folders(root, folders / "test", speakers=[speaker])
        overrides = [f"data.train={train_folder}", f"data.test={test_folder}", *args.overrides]
        fold = {"speaker": speaker}
        identity = fold_identity(recipe, overrides)
        reused = finished_fold(output / speaker, identity) if args.resume else None
        if reused is not None:
            print(f"fold {speaker}: reusing the finished run in {output / speaker}", flush=True)
            fold["toolkit"] = reused
            reused_speakers.append(speaker)
        else:
            print(f"fold {speaker}: training on {', '.join(others)}", flush=True)
            fold["toolkit"] = fsdd_common.train_and_evaluate(
                recipe, overrides, output / speaker, args.device
            )
            record = {**identity, "toolkit": fold["toolkit"]}
            (output / speaker / FOLD_RECORD).write_text(json.dumps(record, indent=2))
        if features is not None:
            split = fsdd.prepare(root, test_speakers=[speaker])
            fold["svm"] = baselines.run_mfcc_svm(split["train"], split["test"], features)
        folds.append(fold)
        summary = f"fold {speaker}: toolkit {fold['toolkit']['accuracy']:.2%}"
        if "svm" in fold:
            summary += f", SVM {fold['svm']['accuracy']:.2%}"
        print(summary, flush=True)
        import keras

        keras.backend.clear_session()

    changed = " ".join(f"--set {item}" for item in args.overrides)
    recipe_name = Path(recipe).name
    template = f"{recipe_name} + {changed}" if changed else f"{recipe_name}, unchanged"
    headers = ["speaker", f"toolkit accuracy ({template})"]
    if features is not None:
        headers.append("SVM accuracy")
    headers += ["train seconds"]
    if features is not None:
        headers.append("SVM fit seconds")

    rows = []
    for fold in folds:
        toolkit = fold["toolkit"]
        row = [
            fold["speaker"],
            f"{toolkit['accuracy']:.2%} ({toolkit['errors']}/{toolkit['examples']} wrong)",
        ]
        if "svm" in fold:
            svm = fold["svm"]
            row.append(f"{svm['accuracy']:.2%} ({svm['errors']}/{svm['examples']} wrong)")
        row.append(f"{toolkit['seconds']:.1f}")
        if "svm" in fold:
            row.append(f"{fold['svm']['fit_seconds']:.1f}")
        rows.append(row)
    mean_row = ["mean", f"{mean(folds, 'toolkit', 'accuracy'):.2%}"]
    if features is not None:
        mean_row.append(f"{mean(folds, 'svm', 'accuracy'):.2%}")
    mean_row.append(f"{mean(folds, 'toolkit', 'seconds'):.1f}")
    if features is not None:
        mean_row.append(f"{mean(folds, 'svm', 'fit_seconds'):.1f}")

    notes = []
    if args.limit is not None:
        notes.append(
            f"**Subset run (--limit {args.limit}): {len(table)} clips; not comparable with "
            "full runs.**"
        )
    notes.append(
        f"Recipe `{fsdd_common.display_path(recipe)}`; settings changed with --set: "
        f"{', '.join(args.overrides) if args.overrides else 'none'} (data.train and data.test "
        "point at the fold's class folders, written by `fsdd.write_class_folders`)."
    )
    notes.append(
        f"Held-out speakers: {', '.join(speakers)} (of {', '.join(every_speaker)}); the mean is "
        "over these folds."
    )
    if reused_speakers:
        notes.append(
            f"Folds reused (--resume) from earlier runs of this script on the same --output, "
            f"with the same recipe and settings: {', '.join(reused_speakers)}; their train "
            "seconds are from those runs."
        )
    if len(folds) > 1:
        spread = statistics.stdev(fold["toolkit"]["accuracy"] for fold in folds)
        notes.append(f"Toolkit accuracy standard deviation across folds: {spread:.2%}.")
    first = folds[0]["toolkit"]
    walls = ", ".join(f"{fold['toolkit']['wall_seconds']:.0f}" for fold in folds)
    notes.append(
        f"Toolkit: {first['parameters']:,} parameters; epochs run per fold: "
        f"{', '.join(str(fold['toolkit']['epochs_run']) for fold in folds)} (of "
        f"{first['epochs']}); train seconds are `training.json` seconds (model.fit, all "
        f"epochs); with data checks, synthetic speech (when the recipe mixes it in) and "
        f"evaluation, the folds took {walls} s; run directories "
        f"`{fsdd_common.display_path(output)}/<speaker>`."
    )
    if features is not None:
        chosen = ", ".join(format(fold["svm"]["best_C"], "g") for fold in folds)
        notes.append(
            f"Baseline: {baselines.DESCRIPTION}. Chosen C per fold: {chosen}. Features for all "
            f"{len(table)} clips took {feature_seconds:.1f} s once, shared by every fold."
        )

    results.report(
        SECTION,
        "FSDD, leave one speaker out (own-data template)",
        headers,
        [*rows, mean_row],
        notes,
        record=not args.no_record,
        markdown_rows=[*rows, [f"**{cell}**" for cell in mean_row]],
    )
    return 0


def mean(folds: list[dict], system: str, key: str) -> float:
    return statistics.fmean(fold[system][key] for fold in folds)


if __name__ == "__main__":
    sys.exit(main())
