"""The baseline beside the run's model: fitted after training, compared on validation, kept in
RUN_DIR/baseline/, and (with `train.baseline: select`) made the run's model when it is better.

Where the baseline is chosen, the trained network is kept in RUN_DIR/network/ so that nothing
trained is lost and fine-tuning from the run starts from the network.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from toolkit import atomic, model_files
from toolkit.quiet import retracing_hints_off

log = logging.getLogger("toolkit")

BASELINE_FOLDER = "baseline"
NETWORK_FOLDER = "network"
RECORD = "baseline.json"


def fit_beside(
    *,
    mode: str,
    task: Any,
    model: Any,
    splits: dict[str, pd.DataFrame],
    run_dir: Path,
    batch_size: int,
) -> tuple[Any, dict[str, Any]]:
    """With `mode` report or select: fit the task's baseline, save it, and score both on the
    validation split. Returns the run's model (the baseline where `mode` is select and it
    scores higher) and what was found, for training.json; `(model, {})` for mode none."""
    if mode == "none":
        return model, {}
    started = time.monotonic()
    log.info("fitting the baseline: %s", task.baseline_description)
    baseline = task.fit_baseline(splits=splits, batch_size=batch_size)
    seconds = time.monotonic() - started
    folder = Path(run_dir) / BASELINE_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    model_files.save_model(baseline, folder / "model.keras")
    metric = task.selection_metric
    with tempfile.TemporaryDirectory() as scratch, retracing_hints_off():
        scores = {
            name: float(
                task.evaluate(
                    model=candidate,
                    frame=splits["valid"],
                    split="valid",
                    output_dir=Path(scratch),
                    batch_size=batch_size,
                )[metric]
            )
            for name, candidate in (("network", model), ("baseline", baseline))
        }
    ahead = scores["baseline"] > scores["network"]
    selected = "baseline" if mode == "select" and ahead else "network"
    record = {
        "description": task.baseline_description,
        "seconds": round(seconds, 1),
        "metric": metric,
        "valid": scores,
        "selected": selected,
    }
    atomic.write_json(folder / RECORD, record)
    comparison = (
        f"validation {metric}: network {scores['network']:.4f}, "
        f"baseline ({task.baseline_description}) {scores['baseline']:.4f}"
    )
    if selected == "baseline":
        log.warning(
            "the baseline beats the network on validation (%s): the baseline becomes the run's "
            "model (train.baseline select); the network is kept in %s",
            comparison,
            Path(run_dir) / NETWORK_FOLDER,
        )
        network_folder = Path(run_dir) / NETWORK_FOLDER
        network_folder.mkdir(parents=True, exist_ok=True)
        model_files.save_model(model, network_folder / "model.keras")
        return baseline, record
    if ahead:
        log.warning(
            "the baseline beats the network on validation (%s); --set train.baseline=select "
            "makes the better of the two the run's model",
            comparison,
        )
    else:
        log.info("%s", comparison)
    return model, record


def alternatives(run_dir: Path) -> dict[str, Path]:
    """The models beside the run's own, by the name metrics.json files them under: the
    baseline, or where the baseline became the run's model, the network."""
    run_dir = Path(run_dir)
    record = read_record(run_dir)
    if record is None:
        return {}
    if record["selected"] == "baseline":
        return {"network": run_dir / NETWORK_FOLDER / "model.keras"}
    return {"baseline": run_dir / BASELINE_FOLDER / "model.keras"}


def read_record(run_dir: Path) -> dict[str, Any] | None:
    path = Path(run_dir) / BASELINE_FOLDER / RECORD
    return json.loads(path.read_text()) if path.is_file() else None


def network_model_path(run_dir: Path) -> Path:
    """The trained network of a run: RUN_DIR/network/model.keras where the baseline became
    the run's model, else RUN_DIR/model.keras."""
    kept = Path(run_dir) / NETWORK_FOLDER / "model.keras"
    return kept if kept.is_file() else Path(run_dir) / "model.keras"


def file_metrics(run_dir: Path, name: str, metrics: dict[str, dict], metric: str) -> None:
    """File the `name`d alternative's metrics per split in RUN_DIR/metrics.json (beside the
    splits already there), log each split's `metric` beside the run's model's, and draw
    plots/baseline.png."""
    path = Path(run_dir) / "metrics.json"
    content = json.loads(path.read_text()) if path.is_file() else {}
    record = read_record(run_dir) or {}
    entry = content.get(name, {})
    entry.update(metrics, description=record.get("description"))
    content[name] = entry
    atomic.write_json(path, content)
    own = "baseline" if name == "network" else "network"
    for split, values in metrics.items():
        if metric in values and metric in content.get(split, {}):
            log.info(
                "%s %s: %s %.4f, %s %.4f%s",
                split,
                metric,
                own,
                content[split][metric],
                name,
                values[metric],
                " (the run's model is the baseline)" if own == "baseline" else "",
            )
    plot_comparison(
        content,
        metric,
        Path(run_dir) / "plots" / "baseline.png",
        record.get("description") or "",
    )


def plot_comparison(metrics: dict[str, Any], metric: str, path: Path, description: str) -> bool:
    """Bars of `metric` per split: the run's model beside the baseline (or the network)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    other = "baseline" if "baseline" in metrics else "network"
    splits = [
        split
        for split, values in metrics.get(other, {}).items()
        if isinstance(values, dict) and metric in values and metric in metrics.get(split, {})
    ]
    if not splits:
        return False
    own = "network" if other == "baseline" else "baseline (the run's model)"
    shown = "baseline" if other == "baseline" else "network"
    figure, axis = plt.subplots(figsize=(1.8 + 1.6 * len(splits), 3.6))
    positions = range(len(splits))
    width = 0.38
    for offset, name, values in (
        (-width / 2, own, [metrics[split][metric] for split in splits]),
        (width / 2, shown, [metrics[other][split][metric] for split in splits]),
    ):
        bars = axis.bar([p + offset for p in positions], values, width, label=name)
        axis.bar_label(bars, fmt="%.3f", fontsize=8)
    axis.set_xticks(list(positions), splits)
    axis.set_ylabel(metric)
    lowest = min(min(metrics[split][metric], metrics[other][split][metric]) for split in splits)
    # Room above 1.0 for the bars' labels.
    axis.set_ylim(max(0.0, lowest - 0.1), 1.06)
    axis.set_title(f"baseline: {description}", fontsize=9)
    axis.legend(loc="lower right", fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.save_figure(figure, path, dpi=100)
    plt.close(figure)
    return True
