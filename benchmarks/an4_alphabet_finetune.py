"""Speech recognition: fine-tune an AN4 run to a changed alphabet (number words as digits),
against the same recipe from scratch on the same transcripts.

    python benchmarks/an4_alphabet_finetune.py --an4 ../shared/data/an4
    python benchmarks/an4_alphabet_finetune.py --an4 ../shared/data/an4 --source runs/an4

At about 80 s an AN4 epoch on 2 CPU cores, the source's 40 epochs take about an hour and the
six compared runs of 5 epochs about 45 minutes; --source skips the first.

The source is `recipes/speech_recognition/an4.yaml` trained on AN4 (--source-epochs, the
recipe's 40 by default), or the run given with --source. The new task writes AN4's number words
ZERO..NINE as the digits 0..9 ("TWO SIX" -> "2 6"); OH and the other number words (TEN, TWENTY,
ELEVENTH, ...) stay words, so every letter continues and only the ten digits are new to the
source's alphabet. AN4 train and test are written as `audio`,`transcript` CSV manifests under
OUTPUT/manifests. For each of --seeds, the source is fine-tuned on them with
`toolkit.finetuning.finetune` for --epochs, and the same recipe is trained from scratch on the
same manifests for the same epochs (its alphabet and word 3-gram LM built from them). Prints a
table of test WER/CER (the recipe's beam + LM decoder and greedy), mean ± standard deviation
over seeds, and updates the `an4_alphabet_finetune` section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import recipe_runs  # noqa: E402
import results  # noqa: E402

SECTION = "an4_alphabet_finetune"
RECIPE = "recipes/speech_recognition/an4.yaml"
# Only the single-digit words: a digit string keeps one "word" per spoken digit, and OH
# ("two oh one") is ambiguous between the letter O and zero, so it stays as spoken.
DIGITS = {
    word: str(digit)
    for digit, word in enumerate(
        ["ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE"]
    )
}
ROWS = ("finetuned", "scratch")
RUN_RECORD = "alphabet_run.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--an4", required=True, help="AN4 root (holding etc/ and wav/).")
    parser.add_argument("--output", default="runs/bench_an4_alphabet_finetune")
    parser.add_argument(
        "--source",
        metavar="RUN_DIR",
        help=f"A finished run of {RECIPE} to fine-tune from (default: train one in OUTPUT/source).",
    )
    parser.add_argument(
        "--source-epochs",
        type=int,
        help="train.epochs of the source run trained here (default: the recipe's).",
    )
    parser.add_argument("--epochs", type=int, default=5, help="Epochs of every compared run.")
    parser.add_argument("--seeds", default="1234,1235,1236", help="train.seed of each run.")
    parser.add_argument(
        "--rows", default="finetuned,scratch", help="Rows to train: finetuned, scratch."
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="A setting for every run, the source's included (fine-tuning takes train.*, "
        "data.*, augment.*, finetune.* and most task.* only), e.g. --set train.batch_size=8.",
    )
    parser.add_argument("--device", choices=["auto", "cpu", "gpu"], default="cpu")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="Reuse runs already finished under --output with the same settings and data.",
    )
    results.add_record_argument(parser)
    return parser.parse_args(argv)


# Data --------------------------------------------------------------------------------


def with_digits(transcript: str) -> str:
    """AN4 words with ZERO..NINE written as 0..9: "TWO SIX" -> "2 6"."""
    return " ".join(DIGITS.get(word.upper(), word) for word in transcript.split())


def write_manifests(root: Path, output: Path) -> dict[str, Path]:
    """train.csv and test.csv: every AN4 utterance of the split, its transcript in digits."""
    from toolkit.data.preparers import an4

    output.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split, frame in an4.prepare(root).items():
        frame = frame.assign(transcript=[with_digits(text) for text in frame["transcript"]])
        paths[split] = output / f"{split}.csv"
        frame[["audio", "transcript", "speaker"]].to_csv(paths[split], index=False)
    return paths


# Runs --------------------------------------------------------------------------------


def read_run(run_dir: Path) -> dict:
    """Test error rates (metrics.json) and training time (training.json) of a finished run."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    if "test" not in metrics:
        raise SystemExit(f"error: {run_dir}: metrics.json has no test split")
    test = metrics["test"]
    training = json.loads((run_dir / "training.json").read_text())
    return {
        "wer": float(test["wer"]),
        "cer": float(test["cer"]),
        "decoder": test.get("decoder", "?"),
        "greedy_wer": float(test.get("greedy_wer", float("nan"))),
        "greedy_cer": float(test.get("greedy_cer", float("nan"))),
        "utterances": int(test.get("utterances", 0)),
        "seconds": float(training["seconds"]),
        "train_examples": int(training["train_examples"]),
        "valid_examples": int(training["valid_examples"]),
        "parameters": int(training["parameters"]),
        "outputs_kept": training.get("outputs_kept"),
        "epochs_run": recipe_runs.epochs_run(run_dir),
    }


def source_run(args: argparse.Namespace, root: Path, output: Path) -> Path:
    """The AN4 run to fine-tune from: --source, or one trained in OUTPUT/source."""
    if args.source:
        return recipe_runs.finished_run(args.source)
    run_dir = output / "source"
    epochs = [] if args.source_epochs is None else [f"train.epochs={args.source_epochs}"]
    settings = {"recipe": RECIPE, "overrides": [f"data.root={root}", *epochs, *args.overrides]}
    if not recipe_runs.reusable(run_dir / RUN_RECORD, settings, args.resume):
        recipe_runs.fresh(run_dir)
        recipe_runs.train_and_evaluate(
            recipe_runs.resolve_recipe(RECIPE),
            settings["overrides"],
            run_dir,
            args.device,
            metric="wer",
        )
        (run_dir / RUN_RECORD).write_text(json.dumps(settings, indent=2))
    return run_dir


def toolkit_row(
    row: str,
    seed: int,
    manifests: dict[str, Path],
    source: Path | None,
    run_dir: Path,
    args: argparse.Namespace,
    data: str,
) -> dict:
    """One seed of a row (or the finished run with the same settings and data)."""
    from toolkit import finetuning, runner
    from toolkit.cli.common import setup_logging
    from toolkit.recipes import load_recipe

    overrides = [f"train.seed={seed}", *args.overrides]
    settings: dict = {"row": row, "epochs": args.epochs, "overrides": overrides, "data": data}
    if row == "finetuned":
        # A retrained source makes its fine-tuned runs stale.
        settings["source"] = [str(source), (source / "model.keras").stat().st_mtime_ns]
    if not recipe_runs.reusable(run_dir / RUN_RECORD, settings, args.resume):
        recipe_runs.fresh(run_dir)
        if row == "finetuned":
            setup_logging(run_dir)
            run = finetuning.finetune(
                source,
                data=manifests["train"],
                test=manifests["test"],
                output=run_dir,
                epochs=args.epochs,
                overrides=overrides,
                device=args.device,
            )
            runner.evaluate(run)
        else:
            # The recipe without its dataset: its alphabet and LM then come from the manifests.
            places = [
                "data.dataset=null",
                "data.root=null",
                f"data.train={manifests['train']}",
                f"data.test={manifests['test']}",
                f"train.epochs={args.epochs}",
            ]
            recipe = load_recipe(recipe_runs.resolve_recipe(RECIPE), places + overrides)
            recipe_runs.train_and_evaluate_recipe(recipe, run_dir, args.device, metric="wer")
        (run_dir / RUN_RECORD).write_text(json.dumps(settings, indent=2))
    return read_run(run_dir)


# Report ------------------------------------------------------------------------------


def alphabet(run_dir: Path) -> list[str]:
    from toolkit.recipes import load_recipe

    return list(load_recipe(run_dir / "recipe.resolved.yaml").component("task")["alphabet"])


def source_note(source: Path, given: bool) -> str:
    """The source run's alphabet, training and AN4 test error rates, once."""
    training = json.loads((source / "training.json").read_text())
    metrics_path = source / "metrics.json"
    test = json.loads(metrics_path.read_text()).get("test") if metrics_path.is_file() else None
    scored = (
        f"; on AN4 test (number words as words) WER {100 * test['wer']:.2f}%, "
        f"CER {100 * test['cer']:.2f}% ({test.get('decoder')})"
        if test
        else ""
    )
    return (
        f"Source: {recipe_runs.display_path(source)}"
        f"{' (given with --source)' if given else f', `{RECIPE}` on AN4 train'}: "
        f"{recipe_runs.epochs_run(source)} epoch(s), {training['parameters']:,} parameters, "
        f"trained in {results.seconds(training['seconds'])}, "
        f"alphabet {''.join(alphabet(source))!r}{scored}."
    )


def finetune_note(run_dir: Path, source: Path, runs: list[dict]) -> str:
    """What the fine-tuned runs kept of the source and how they trained."""
    from toolkit.recipes import load_recipe

    recipe = load_recipe(run_dir / "recipe.resolved.yaml")
    train, settings = recipe.train, recipe.finetune
    new = sorted(set(alphabet(run_dir)) - set(alphabet(source)))
    # As `finetuning.plan_phases` plans them: a head phase of at most half the run.
    head = settings.head_epochs if settings.freeze != "none" else 0
    if settings.freeze != "backbone" and head >= train.epochs > 1:
        head = train.epochs // 2
    head = min(head, train.epochs)
    steps = [f"{head} epoch(s) of the new head alone at learning rate {train.learning_rate:g}"]
    if train.epochs > head:
        lowered = train.learning_rate * settings.learning_rate_factor
        steps.append(f"{train.epochs - head} of everything at {lowered:g}")
    return (
        f"Fine-tuned (`toolkit.finetuning.finetune`): the source's log-mel features and "
        f"backbone, a new CTC output layer of {len(alphabet(run_dir)) + 1} outputs "
        f"({runs[0]['outputs_kept']} rows kept from the source's; new characters "
        f"{''.join(new)!r}); {', then '.join(steps)}, batch {train.batch_size}."
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    recipe_runs.select_device(args.device)
    root = Path(args.an4).expanduser().resolve()
    output = Path(args.output).resolve()
    seeds = [int(value) for value in args.seeds.split(",")]
    rows_wanted = [value.strip() for value in args.rows.split(",") if value.strip()]
    if not rows_wanted or set(rows_wanted) - set(ROWS):
        raise SystemExit(f"error: --rows: expected some of {', '.join(ROWS)}")
    manifests = write_manifests(root, output / "manifests")
    data = recipe_runs.fingerprint(manifests)
    source = source_run(args, root, output) if "finetuned" in rows_wanted else None

    headers = [
        "system",
        "test WER",
        "test CER",
        "greedy WER",
        "greedy CER",
        "WER per seed",
        "train time (mean)",
    ]
    rows = []
    runs_by_row = {}
    for row in rows_wanted:
        runs = [
            toolkit_row(row, seed, manifests, source, output / f"{row}_{seed}", args, data)
            for seed in seeds
        ]
        runs_by_row[row] = runs
        name = "fine-tuned from the AN4 run" if row == "finetuned" else "`an4.yaml` from scratch"
        rows.append(
            [
                f"{name}, {args.epochs} epochs",
                recipe_runs.spread([run["wer"] for run in runs]),
                recipe_runs.spread([run["cer"] for run in runs]),
                recipe_runs.spread([run["greedy_wer"] for run in runs]),
                recipe_runs.spread([run["greedy_cer"] for run in runs]),
                ", ".join(f"{100 * run['wer']:.1f}" for run in runs),
                results.seconds(statistics.mean(run["seconds"] for run in runs)),
            ]
        )

    first = next(iter(runs_by_row.values()))[0]
    notes = [
        "Task: AN4 with the number words ZERO..NINE written as digits 0..9 (OH, TEN, TWENTY, "
        "ELEVENTH and the like stay words): the letters continue, the ten digits are new. "
        f"{first['train_examples']} utterances train and {first['valid_examples']} select the "
        f"checkpoint by validation WER; test: AN4 test ({first['utterances']} utterances, "
        "speakers unseen in training).",
        f"Seeds {', '.join(map(str, seeds))} (train.seed), mean ± standard deviation. WER/CER "
        f"are the recipe's decoder ({first['decoder']}, its word 3-gram LM built from the "
        "training transcripts of each run); greedy is CTC best path. Train time is "
        "training.json's (fitting; for fine-tuning also loading the source).",
    ]
    if "finetuned" in runs_by_row:
        notes.append(
            finetune_note(output / f"finetuned_{seeds[0]}", source, runs_by_row["finetuned"])
        )
    if "scratch" in runs_by_row:
        notes.append(
            f"Scratch: `{RECIPE}` with data.train and data.test set to the manifests (its "
            f"alphabet and LM from them), the recipe's settings but train.epochs {args.epochs}."
        )
    if source is not None:
        notes.append(source_note(source, bool(args.source)))
    if args.overrides:
        notes.append(f"Settings changed with --set: {' '.join(args.overrides)}")
    results.report(
        SECTION,
        "Speech recognition: fine-tune an AN4 run to a changed alphabet (digits)",
        headers,
        rows,
        notes,
        not args.no_record,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
