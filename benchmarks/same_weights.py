"""Do two runs of the same seeded recipe hold the same model? For changes that must not move a
figure (refactors): train the recipe with the old and the new code, then compare the runs.

    python benchmarks/same_weights.py --runs OLD_RUN NEW_RUN --old-code COMMIT
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from results import report  # noqa: E402


def compare(old: Path, new: Path) -> dict[str, object]:
    """Weights of model.keras, history.csv and test metrics of two run directories."""
    from toolkit import runner

    first, second = runner.open_run(old), runner.open_run(new)
    weights = list(zip(first.model.get_weights(), second.model.get_weights(), strict=True))
    difference = max(float(np.max(np.abs(a - b))) if a.size else 0.0 for a, b in weights)

    def test_accuracy(run_dir: Path) -> float:
        return json.loads((run_dir / "metrics.json").read_text())["test"]["accuracy"]

    return {
        "arrays": len(weights),
        "values": sum(a.size for a, _ in weights),
        "identical": all(np.array_equal(a, b) for a, b in weights),
        "difference": difference,
        "history": (old / "history.csv").read_text() == (new / "history.csv").read_text(),
        "accuracy": (test_accuracy(old), test_accuracy(new)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs=2, type=Path, required=True, metavar=("OLD", "NEW"))
    parser.add_argument("--old-code", required=True, help="the commit OLD was trained with")
    parser.add_argument("--command", required=True, help="the training command of both runs")
    parser.add_argument("--no-record", action="store_true")
    options = parser.parse_args()
    found = compare(*options.runs)
    old_accuracy, new_accuracy = found["accuracy"]
    report(
        "same_weights",
        "Refactor check: the same seeded model before and after",
        [
            "weight arrays",
            "values",
            "identical",
            "max abs difference",
            "history.csv",
            "test accuracy",
        ],
        [
            [
                found["arrays"],
                f"{found['values']:,}",
                "yes" if found["identical"] else "no",
                f"{found['difference']:.3g}",
                "identical" if found["history"] else "differs",
                f"{old_accuracy:.2%} / {new_accuracy:.2%}",
            ]
        ],
        [
            f"OLD trained with the code at {options.old_code}, NEW with the code of this commit, "
            "each from its own checkout, with the same thread settings:",
            f"`{options.command}`",
        ],
        record=not options.no_record,
    )


if __name__ == "__main__":
    main()
