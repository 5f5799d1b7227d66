"""`toolkit tune` on IMDB's 1,000-review subset against the text own-data template's defaults.

    python benchmarks/tune_imdb.py --imdb ../shared/data/imdb --budget 15

The dataset is `own_data_templates.py`'s imdb_1k (1,000 balanced training reviews, 5,000
seeded test reviews). In one run: the template as committed is trained on it, then the
template's own `tune` block is searched for `--budget` minutes (trials scored on the
validation split only) and its best settings trained again. The table gives test accuracy
of both (the network, and the model the run kept with `train.baseline: select`), the trials
finished and the time. Updates the `tune_imdb` section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import own_data_templates  # noqa: E402
import recipe_runs  # noqa: E402
import results  # noqa: E402

SECTION = "tune_imdb"
TEMPLATE = "recipes/text_classification/own_data.yaml"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--imdb", required=True, help="IMDB folder with train.jsonl, test.jsonl.")
    parser.add_argument("--budget", type=float, default=15.0, help="Search minutes.")
    parser.add_argument("--output", default="runs/bench_tune_imdb")
    parser.add_argument("--device", choices=["auto", "cpu", "gpu"], default="cpu")
    results.add_record_argument(parser)
    return parser.parse_args(argv)


def test_scores(run_dir: Path) -> tuple[float, float, str]:
    """Test accuracy of the network and of the model the run kept, and which that is."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    kept = json.loads((run_dir / "baseline" / "baseline.json").read_text())["selected"]
    network = metrics["test"] if kept == "network" else metrics["network"]["test"]
    return float(network["accuracy"]), float(metrics["test"]["accuracy"]), kept


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    recipe_runs.select_device(args.device)
    from toolkit import runner, tuning
    from toolkit.cli.common import setup_logging
    from toolkit.recipes import load_recipe

    output = Path(args.output)
    data = own_data_templates.imdb_dataset("imdb_1k", Path(args.imdb), output / "data")
    recipe_runs.fresh(output / "defaults")
    setup_logging(output / "defaults")
    started = time.perf_counter()
    defaults = runner.train(load_recipe(TEMPLATE, data), output / "defaults", args.device)
    runner.evaluate(defaults)
    default_seconds = time.perf_counter() - started

    search = output / "search"
    recipe_runs.fresh(search)
    setup_logging(search)
    started = time.perf_counter()
    found = tuning.tune(
        load_recipe(TEMPLATE, data), search, budget_minutes=args.budget, device=args.device
    )
    tune_seconds = time.perf_counter() - started
    finished = found.table[found.table["status"] == "COMPLETED"]

    rows = []
    for name, run_dir, seconds, extra in (
        ("template defaults", output / "defaults", default_seconds, ""),
        (
            f"tuned ({len(finished)} trials; budget {args.budget:g} min)",
            search / "best",
            tune_seconds,
            ", ".join(f"{k}={tuning.encode(v)}" for k, v in found.best_values.items()),
        ),
    ):
        network, kept_score, kept = test_scores(run_dir)
        rows.append(
            [
                name,
                f"{100 * network:.2f}",
                f"{kept} ({100 * kept_score:.2f})",
                results.seconds(seconds),
                extra or "as committed",
            ]
        )
    results.report(
        SECTION,
        "`toolkit tune` on IMDB, 1,000 reviews",
        ["run", "network test accuracy", "kept model (test accuracy)", "wall time", "settings"],
        rows,
        [
            "Data: 1,000 IMDB training reviews (balanced, seed 0; 10% held out for validation, "
            "which alone scores the trials), 5,000 seeded IMDB test reviews.",
            "Search: the template's own tune block (its algorithm and space as committed); the "
            "wall time of the tuned row covers the search and training the best settings again.",
            f"Best validation accuracy in the search: {100 * found.best_score:.2f}%.",
        ],
        not args.no_record,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
