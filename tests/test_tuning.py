"""`toolkit tune`: the search space, trials scored on validation, resuming, the budget."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from tests.tiny_data import REPO
from toolkit import runner, tuning
from toolkit.cli import main
from toolkit.errors import RecipeError, ToolkitError
from toolkit.recipes import load_recipe

SPACE = {
    "model.embedding_dim": [4, 32, None],
    "train.learning_rate": {"min": 0.002, "max": 0.02, "log": True},
}


def tiny_recipe(space=None, trials: int = 2, **train):
    return load_recipe(
        "text_classification/tiny_reviews",
        {
            "train.epochs": 1,
            "train.verbose": 0,
            "data.test": None,
            "tune.space": space or SPACE,
            "tune.trials": trials,
            "tune.algorithm": "random",
            **{f"train.{key}": value for key, value in train.items()},
        },
    )


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"data.train": ["a", "b"]}, "tune.space.data.train: not a key of the model"),
        ({"model.type": ["ngram_bag", "text_cnn"]}, "type of a component cannot be searched"),
        ({"train.learning_rate": 0.01}, "expected a list of choices or {min, max}"),
        ({"train.learning_rate": [0.01]}, "at least two choices"),
        ({"train.learning_rate": {"min": 0.1, "max": 0.01}}, "min must be below max"),
        ({"train.learning_rate": {"min": "a", "max": 1}}, "min and max must be numbers"),
        ({"train.learning_rate": {"min": 0, "max": 1, "log": True}}, "log range needs min > 0"),
        ({"train.learning_rate": {"min": 0.1, "max": 1, "steps": 2}}, "unknown range key 'steps'"),
    ],
)
def test_a_bad_space_is_one_line_naming_the_key(space, message):
    with pytest.raises(RecipeError, match=message.replace("{", r"\{").replace("}", r"\}")):
        tuning.parse_space(space)


def test_a_key_or_value_the_recipe_refuses_is_named_before_any_trial(tmp_path):
    for space, fragments in (
        ({"model.embeding_dim": [4, 8]}, ("tune.space", "embeding_dim")),
        ({"train.epochs": ["many", 2]}, ("tune.space", "train.epochs")),
    ):
        with pytest.raises(RecipeError) as error:
            tuning.tune(tiny_recipe(space), tmp_path / "search")
        assert all(fragment in str(error.value) for fragment in fragments)
    assert not (tmp_path / "search" / "trials").exists()


def test_dimensions_give_recipe_values_back():
    choices, whole, real = tuning.parse_space(
        {
            "model.conv_filters": [[8, 16], [16, 32]],
            "model.rnn_layers": {"min": 1, "max": 3},
            "train.learning_rate": {"min": 0.001, "max": 0.1, "log": True},
        }
    )
    assert choices.value(tuning.encode([16, 32])) == [16, 32]
    assert whole.is_integer and not real.is_integer and real.log


@pytest.fixture(scope="module")
def search(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("tune") / "search"
    tuning.tune(tiny_recipe(), output, device="cpu")
    return output


def test_the_search_scores_trials_and_trains_the_best_draw(search):
    table = pd.read_csv(search / "trials.csv")
    assert list(table["status"]) == ["COMPLETED", "COMPLETED"]
    assert table["score"].between(0, 1).all()
    best = table.loc[table["score"].idxmax()]
    values = json.loads((search / "trials" / str(best["trial"]) / "trial.json").read_text())
    saved = yaml.safe_load((search / "best_recipe.yaml").read_text())
    assert "tune" not in saved
    assert saved["train"]["learning_rate"] == values["values"]["train.learning_rate"]
    assert saved["model"]["embedding_dim"] == values["values"]["model.embedding_dim"]
    metrics = json.loads((search / "best" / "metrics.json").read_text())
    # The best run is the best trial trained again with the same seed.
    assert metrics["valid"]["accuracy"] == pytest.approx(best["score"])
    assert (search / "best" / "export" / "saved_model" / "saved_model.pb").is_file()
    assert (search / "trials.png").stat().st_size > 0


def test_the_recipe_s_own_settings_are_the_first_trial(search):
    first = json.loads((search / "trials" / "0" / "trial.json").read_text())["values"]
    recipe = tiny_recipe()
    assert first == {
        "model.embedding_dim": recipe.blocks["model"]["embedding_dim"],
        "train.learning_rate": recipe.blocks["train"]["learning_rate"],
    }


def test_recipe_values_only_where_the_space_holds_them():
    base = {"model": {"embedding_dim": 16}, "train": {"learning_rate": 0.1}}
    inside = tuning.parse_space({"model.embedding_dim": [8, 16]})
    assert tuning.recipe_values(base, inside) == {"model.embedding_dim": "16"}
    outside = tuning.parse_space({"train.learning_rate": {"min": 0.001, "max": 0.01}})
    assert tuning.recipe_values(base, inside + outside) == {}


def test_a_resumed_search_keeps_its_finished_trials(search, tmp_path):
    import shutil

    output = tmp_path / "search"
    shutil.copytree(search, output)
    first = (output / "trials" / "0" / "trial.json").read_text()
    found = tuning.tune(tiny_recipe(), output, trials=3, device="cpu")
    assert list(found.table["trial"]) == ["0", "1", "2"]
    assert (output / "trials" / "0" / "trial.json").read_text() == first


def test_an_interrupted_trial_is_trained_again_when_the_search_resumes(tmp_path, monkeypatch):
    output = tmp_path / "search"
    train = runner.train

    def interrupted(recipe, run_dir, *args, **kwargs):
        if Path(run_dir).name == "1":
            raise KeyboardInterrupt
        return train(recipe, run_dir, *args, **kwargs)

    monkeypatch.setattr(runner, "train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        tuning.tune(tiny_recipe(), output, device="cpu")
    monkeypatch.setattr(runner, "train", train)
    found = tuning.tune(tiny_recipe(), output, device="cpu")
    assert list(found.table["status"]) == ["COMPLETED", "COMPLETED"]


def test_another_recipe_s_search_is_refused(search):
    with pytest.raises(ToolkitError, match="holds a search of another recipe"):
        tuning.tune(tiny_recipe(trials=5, learning_rate=0.5), search)


def test_a_budget_spent_before_the_first_trial_ends_is_one_line(tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "tune",
            str(REPO / "recipes" / "text_classification" / "tiny_reviews.yaml"),
            "--output",
            str(tmp_path / "search"),
            "--budget",
            "0.0001",
            "--set",
            "train.epochs=3",
            "--set",
            "tune.space={train.learning_rate: [0.001, 0.01]}",
        ],
    )
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error")]
    assert len(lines) == 1 and "--budget 0.0001 minutes" in lines[0]


@pytest.mark.parametrize("task", ["text_classification", "sequence_tagging", "keyword_spotting"])
def test_each_own_data_template_s_space_holds_its_own_settings(task):
    recipe = load_recipe(f"{task}/own_data", {"data.train": "train.csv"})
    dimensions = tuning.parse_space(recipe.blocks["tune"]["space"])
    tuning.check_space(recipe.blocks, dimensions, recipe.source)
    assert set(tuning.recipe_values(recipe.blocks, dimensions)) == {d.key for d in dimensions}
