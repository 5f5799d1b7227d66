from pathlib import Path

import pytest
import yaml

from toolkit.errors import RecipeError
from toolkit.recipes import list_recipes, load_recipe, parse_override


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return path


MINIMAL = """
task: {type: audio_classification}
features: {type: log_mel}
model: {type: ds_cnn}
data: {train: data/train.csv}
"""


def test_defaults_are_filled_and_paths_resolved_against_the_recipe(tmp_path):
    recipe = load_recipe(write(tmp_path, MINIMAL))
    assert recipe.train.epochs == 30
    assert recipe.component("features")["num_mel_bins"] == 40
    assert recipe.component("model")["filters"] == 64
    assert recipe.data.train == str(tmp_path / "data" / "train.csv")
    assert recipe.augment.time_masks == 0


def test_overrides_change_values_and_paths_resolve_against_the_working_directory(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    recipe = load_recipe(
        write(tmp_path, MINIMAL),
        [
            "train.epochs=5",
            "model.filters=16",
            "data.test=other/test.csv",
            "data.columns.audio=path",
        ],
    )
    assert recipe.train.epochs == 5
    assert recipe.component("model")["filters"] == 16
    assert recipe.data.test == str(tmp_path / "other" / "test.csv")
    assert recipe.data.columns == {"audio": "path"}


def test_switching_model_type_drops_the_old_types_settings(tmp_path):
    recipe = load_recipe(write(tmp_path, MINIMAL + "\n"), ["model.type=crnn"])
    assert recipe.component("model")["type"] == "crnn"
    assert "filters" not in recipe.component("model")


@pytest.mark.parametrize(
    "text, overrides, message",
    [
        (MINIMAL + "trian: {}\n", [], "trian: unknown block"),
        (MINIMAL, ["train.epoch=3"], "train.epoch: unknown key"),
        (MINIMAL, ["train.epochs=many"], "train.epochs: expected int, got 'many'"),
        (MINIMAL, ["model.filterz=3"], "model.filterz: unknown key"),
        (MINIMAL, ["model.type=resnet9000"], "model.type: unknown model 'resnet9000'"),
        (MINIMAL, ["train.schedule=linear"], "train.schedule: expected one of"),
        (MINIMAL, ["features.num_mel_bins=4.5"], "features.num_mel_bins: expected int"),
        (MINIMAL, ["epochs=3"], "must name a block and a setting"),
        (MINIMAL, ["train.epochs"], "expected key.sub=value"),
        (MINIMAL, ["train.ema_momentum=1.0"], "train.ema_momentum: must be in [0, 1)"),
        (MINIMAL, ["train.ensemble=0"], "train.ensemble: must be 1 or more"),
        (
            "task: {type: sequence_tagging}\nfeatures: {type: word_characters}\nmodel: {type: bilstm_char_cnn}\n",
            ["train.ensemble=3"],
            "train.ensemble: the sequence_tagging task cannot average models",
        ),
    ],
)
def test_bad_recipes_name_the_key_and_the_file(tmp_path, text, overrides, message):
    path = write(tmp_path, text)
    with pytest.raises(RecipeError) as caught:
        load_recipe(path, overrides)
    assert message in str(caught.value)
    if "=" in "".join(overrides) or not overrides:
        assert str(path) in str(caught.value)


def test_a_derived_setting_is_not_a_recipe_key(tmp_path):
    with pytest.raises(RecipeError, match="features.sample_rate: unknown key"):
        load_recipe(write(tmp_path, MINIMAL), ["features.sample_rate=8000"])


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(RecipeError, match="recipe file not found"):
        load_recipe(tmp_path / "nope.yaml")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(write(tmp_path, "task: [unclosed"))


def test_resolved_recipe_round_trips(tmp_path):
    recipe = load_recipe(write(tmp_path, MINIMAL), ["train.epochs=7"])
    saved = tmp_path / "runs" / "recipe.resolved.yaml"
    saved.parent.mkdir()
    recipe.save(saved)
    again = load_recipe(saved)
    assert again.blocks == recipe.blocks
    assert yaml.safe_load(saved.read_text())["train"]["epochs"] == 7


def test_parse_override_reads_yaml_values():
    assert parse_override("augment.speed_range=[0.9, 1.1]") == (
        ["augment", "speed_range"],
        [0.9, 1.1],
    )
    assert parse_override("data.valid=null") == (["data", "valid"], None)


def test_exponent_floats_without_a_dot_are_floats(tmp_path):
    # YAML 1.1 (PyYAML) would read these as strings; Python and YAML 1.2 read floats.
    assert parse_override("features.log_offset=1e-10") == (["features", "log_offset"], 1e-10)
    assert parse_override("train.learning_rate=3E-4")[1] == 3e-4
    assert parse_override("data.columns.audio=e5")[1] == "e5"
    recipe = load_recipe(write(tmp_path, MINIMAL + "train: {learning_rate: 5e-4}\n"))
    assert recipe.train.learning_rate == 5e-4


def test_a_recipe_that_is_not_a_mapping_lists_the_blocks(tmp_path):
    with pytest.raises(RecipeError, match="task, data, features"):
        load_recipe(write(tmp_path, "- task\n"))


def test_mfcc_features_take_the_log_mel_settings_they_pass_on(tmp_path):
    text = MINIMAL.replace("{type: log_mel}", "{type: mfcc, num_coefficients: 20, hop_ms: 20.0}")
    recipe = load_recipe(write(tmp_path, text), ["features.top_db=80"])
    assert recipe.component("features")["num_coefficients"] == 20
    assert recipe.component("features")["hop_ms"] == 20.0
    assert recipe.component("features")["top_db"] == 80
    assert recipe.component("features")["num_mel_bins"] == 40
    assert "sample_rate" not in recipe.component("features")  # derived from the task
    with pytest.raises(RecipeError, match="features.hop: unknown key"):
        load_recipe(write(tmp_path, text), ["features.hop=20"])


def test_every_shipped_recipe_validates():
    names = list_recipes()
    assert "keyword_spotting/tts_digits" in names
    for name in names:
        load_recipe(name)
