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
# The network and the baseline averaged: a candidate for classifiers.
BLEND = "blend"
DESCRIPTIONS = {"network": "the network", "baseline": "the baseline", BLEND: "their average"}


def fit_beside(
    *,
    mode: str,
    task: Any,
    model: Any,
    splits: dict[str, pd.DataFrame],
    run_dir: Path,
    batch_size: int,
) -> tuple[Any, dict[str, Any]]:
    """With `mode` report or select: fit the task's baseline, save it, and score it and the
    network on the validation split; for classifiers, also the two averaged (the blend).
    Returns the run's model (with select, the best of those on validation; ties go to the
    network, then the baseline) and what was found, for training.json; `(model, {})` for
    mode none."""
    if mode == "none":
        return model, {}
    started = time.monotonic()
    log.info("fitting the baseline: %s", task.baseline_description)
    baseline = task.fit_baseline(splits=splits, batch_size=batch_size)
    seconds = time.monotonic() - started
    folder = Path(run_dir) / BASELINE_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    model_files.save_model(baseline, folder / "model.keras")
    candidates = {"network": model, "baseline": baseline}
    if task.averages_members:
        candidates[BLEND] = blend(model, baseline)
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
            for name, candidate in candidates.items()
        }
    best = max(scores, key=lambda name: (scores[name], -list(scores).index(name)))
    selected = best if mode == "select" else "network"
    record = {
        "description": task.baseline_description,
        "seconds": round(seconds, 1),
        "metric": metric,
        "valid": scores,
        "selected": selected,
    }
    atomic.write_json(folder / RECORD, record)
    comparison = f"validation {metric}: " + ", ".join(
        f"{DESCRIPTIONS.get(name, name)} {score:.4f}" for name, score in scores.items()
    )
    if selected != "network":
        network_folder = Path(run_dir) / NETWORK_FOLDER
        network_folder.mkdir(parents=True, exist_ok=True)
        model_files.save_model(model, network_folder / "model.keras")
        log.warning(
            "%s; %s is better than the network and becomes the run's model "
            "(train.baseline select); the network is kept in %s",
            comparison,
            DESCRIPTIONS[selected],
            network_folder,
        )
        return candidates[selected], record
    if scores["baseline"] > scores["network"]:
        log.warning(
            "%s: the baseline (%s) beats the network; --set train.baseline=select makes the "
            "best of them the run's model",
            comparison,
            task.baseline_description,
        )
    else:
        log.info("%s", comparison)
    return model, record


def blend(network: Any, baseline: Any) -> Any:
    """One model: the network and the baseline side by side on the same input, their class
    probabilities averaged (saved, loaded and exported as any other model)."""
    import keras

    first = network.inputs[0]
    inputs = keras.Input(shape=first.shape[1:], dtype=first.dtype, name=first.name)
    probabilities = keras.layers.Average(dtype="float32", name="probabilities")(
        [network(inputs), baseline(inputs)]
    )
    return keras.Model(inputs, probabilities, name=BLEND)


def alternatives(run_dir: Path) -> dict[str, Path]:
    """The models beside the run's own, by the name metrics.json files them under: the
    baseline, and where the baseline or the blend became the run's model, the network."""
    run_dir = Path(run_dir)
    record = read_record(run_dir)
    if record is None:
        return {}
    found = {
        "network": run_dir / NETWORK_FOLDER / "model.keras",
        "baseline": run_dir / BASELINE_FOLDER / "model.keras",
    }
    return {name: path for name, path in found.items() if name != record["selected"]}


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
    splits already there) and log each split's `metric` beside the run's model's."""
    path = Path(run_dir) / "metrics.json"
    content = json.loads(path.read_text()) if path.is_file() else {}
    record = read_record(run_dir) or {}
    entry = content.get(name, {})
    entry.update(metrics)
    if name == "baseline":
        entry["description"] = record.get("description")
    content[name] = entry
    atomic.write_json(path, content)
    own = record.get("selected", "network")
    for split, values in metrics.items():
        if metric in values and metric in content.get(split, {}):
            log.info(
                "%s %s: the run's model (%s) %.4f, %s %.4f",
                split,
                metric,
                DESCRIPTIONS.get(own, own).removeprefix("the "),
                content[split][metric],
                name,
                values[metric],
            )


def plot_comparison(run_dir: Path, metric: str) -> bool:
    """plots/baseline.png: bars of `metric` per split for the run's model and the models
    filed beside it in metrics.json (the baseline, the network)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(run_dir) / "metrics.json"
    metrics = json.loads(path.read_text()) if path.is_file() else {}
    record = read_record(run_dir) or {}
    others = [name for name in ("network", "baseline") if isinstance(metrics.get(name), dict)]
    splits = [
        split
        for split, values in metrics.items()
        if isinstance(values, dict)
        and metric in values
        and all(metric in metrics[name].get(split, {}) for name in others)
    ]
    if not splits or not others:
        return False
    own = record.get("selected", "network")
    series = [(f"{own} (the run's model)", [metrics[split][metric] for split in splits])]
    series += [(name, [metrics[name][split][metric] for split in splits]) for name in others]
    figure, axis = plt.subplots(figsize=(1.8 + 1.2 * len(series) * len(splits), 3.6))
    width = 0.8 / len(series)
    for index, (name, values) in enumerate(series):
        offset = (index - (len(series) - 1) / 2) * width
        bars = axis.bar([p + offset for p in range(len(splits))], values, width, label=name)
        axis.bar_label(bars, fmt="%.3f", fontsize=8)
    axis.set_xticks(list(range(len(splits))), splits)
    axis.set_ylabel(metric)
    lowest = min(min(values) for _, values in series)
    # Room above 1.0 for the bars' labels.
    axis.set_ylim(max(0.0, lowest - 0.1), 1.06)
    axis.set_title(f"baseline: {record.get('description') or ''}", fontsize=9)
    axis.legend(loc="best", fontsize=8)
    figure.tight_layout()
    (Path(run_dir) / "plots").mkdir(parents=True, exist_ok=True)
    atomic.save_figure(figure, Path(run_dir) / "plots" / "baseline.png", dpi=100)
    plt.close(figure)
    return True
