"""The baseline beside a run (`train.baseline`): fitted, scored on every split, chosen when
better with `select`, exported as the run's model, and skipped over by fine-tuning."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from click.testing import CliRunner

import toolkit
from toolkit import model_files, runner
from toolkit.baselines.comparison import network_model_path
from toolkit.cli import main
from toolkit.recipes import load_recipe


@pytest.fixture(scope="module")
def chosen_baseline(tmp_path_factory) -> Path:
    """One epoch of a tiny network against TF-IDF + logistic regression: the baseline wins."""
    folder = tmp_path_factory.mktemp("chosen_baseline")
    recipe = load_recipe(
        "text_classification/tiny_reviews",
        {
            "train.epochs": 1,
            "train.verbose": 0,
            "model.embedding_dim": 4,
            "train.learning_rate": 0.0001,
            "train.baseline": "select",
        },
    )
    run = runner.train(recipe, folder / "run")
    runner.evaluate(run)
    runner.export(run)
    return run.directory


def test_select_makes_the_better_baseline_the_run_s_model(chosen_baseline):
    record = json.loads((chosen_baseline / "training.json").read_text())["baseline"]
    # The network barely trained: averaging it with the baseline changes no answer, and a tie
    # goes to the simpler model.
    assert record["selected"] == "baseline"
    assert record["valid"]["baseline"] > record["valid"]["network"]
    assert record["valid"]["blend"] == pytest.approx(record["valid"]["baseline"])
    metrics = json.loads((chosen_baseline / "metrics.json").read_text())
    # The run's splits score the baseline; the network is filed beside it.
    assert metrics["valid"]["accuracy"] == pytest.approx(record["valid"]["baseline"])
    assert metrics["network"]["valid"]["accuracy"] == pytest.approx(record["valid"]["network"])
    assert set(metrics["network"]) == {"valid", "test"}
    assert (chosen_baseline / "plots" / "baseline.png").stat().st_size > 0
    assert (chosen_baseline / "network" / "errors_test.csv").is_file()
    run = runner.open_run(chosen_baseline)
    assert run.model.name == "text_baseline"


def test_the_export_of_a_chosen_baseline_serves_its_labels(chosen_baseline):
    run = runner.open_run(chosen_baseline)
    texts = ["The battery is excellent.", "Broken on arrival, awful.", "Fine screen, poor fit."]
    expected = run.task.predict(model=run.model, inputs=texts, names=texts, top_k=1, batch_size=8)[
        "label"
    ].tolist()
    served = tf.saved_model.load(str(chosen_baseline / "export" / "saved_model"))
    labels = served.signatures["serving_default"](text=tf.constant(texts))["label"].numpy()
    assert [label.decode() for label in labels] == expected


def test_fine_tuning_a_run_whose_model_is_its_baseline_starts_from_the_network(
    chosen_baseline, tmp_path
):
    data = tmp_path / "reviews.csv"
    data.write_text(
        "text,label\n"
        + "".join(f"great phone number {i},good\nawful phone number {i},bad\n" for i in range(6))
    )
    toolkit.finetune(chosen_baseline, data, output=tmp_path / "run", epochs=1, export=False)
    # The fine-tuned network (the baseline, fitted anew on these rows, may win again).
    network = model_files.load_model(network_model_path(tmp_path / "run"))
    assert network.name == "text_classifier"
    assert "fine-tuning its network instead" in (tmp_path / "run" / "log.txt").read_text()


def test_report_scores_the_baseline_beside_a_tagger_and_prints_it(tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "run",
            "sequence_tagging/tiny_entities",
            "--output",
            str(tmp_path / "run"),
            "--epochs",
            "1",
            "--set",
            "train.baseline=report",
            "--set",
            "export.enabled=false",
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["baseline"]["description"] == "CRF over word features (CRFsuite)"
    assert metrics["baseline"]["test"]["f1"] > 0.5
    assert "network" not in metrics
    lines = result.output.splitlines()
    assert any(line.startswith("baseline test: f1") for line in lines)
    assert any(line.startswith("test: f1") for line in lines)
    record = json.loads((tmp_path / "run" / "baseline" / "baseline.json").read_text())
    assert record["selected"] == "network" and np.isfinite(record["seconds"])
    assert runner.open_run(tmp_path / "run").model.name == "sequence_tagger"


class ScoredTask:
    """A classifier task whose validation scores are set by model name."""

    averages_members = True
    selection_metric = "accuracy"
    baseline_description = "a fixed baseline"

    def __init__(self, scores: dict[str, float]):
        self.scores = scores

    def fit_baseline(self, *, splits, batch_size):
        return tiny_model("fixed_baseline", 2.0)

    def evaluate(self, *, model, frame, split, output_dir, batch_size):
        return {"accuracy": self.scores[model.name]}


def tiny_model(name: str, scale: float):
    import keras

    inputs = keras.Input(shape=(2,), name="x")
    outputs = keras.layers.Softmax(name="probabilities")(keras.layers.Rescaling(scale)(inputs))
    return keras.Model(inputs, outputs, name=name)


@pytest.mark.parametrize(
    ("scores", "selected"),
    [
        ({"network": 0.8, "fixed_baseline": 0.85, "blend": 0.9}, "blend"),
        ({"network": 0.9, "fixed_baseline": 0.9, "blend": 0.9}, "network"),
        ({"network": 0.8, "fixed_baseline": 0.9, "blend": 0.9}, "baseline"),
    ],
)
def test_select_keeps_the_best_of_network_baseline_and_their_average(tmp_path, scores, selected):
    from toolkit.baselines.comparison import fit_beside

    network = tiny_model("network", 1.0)
    model, record = fit_beside(
        mode="select",
        task=ScoredTask(scores),
        model=network,
        splits={"valid": None},
        run_dir=tmp_path,
        batch_size=4,
    )
    assert record["selected"] == selected
    assert model.name == {"network": "network", "baseline": "fixed_baseline"}.get(selected, "blend")
    assert (tmp_path / "network" / "model.keras").is_file() == (selected != "network")
    if selected == "blend":
        x = np.array([[0.0, 1.0]], dtype=np.float32)
        expected = (network.predict(x, verbose=0) + tiny_model("b", 2.0).predict(x, verbose=0)) / 2
        np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-6)
