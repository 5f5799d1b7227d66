"""Shipped pretrained models: a tiny speech_words built from its recipe, listed and shown by
`toolkit models`, and used by name, by `toolkit finetune` and by a recipe's model.pretrained."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from tests.tiny_data import REPO, subset_manifest
from toolkit import pretrained, runner
from toolkit.audio import tts
from toolkit.cli import main
from toolkit.pretrained import speech_words
from toolkit.recipes import load_recipe

pytestmark = pytest.mark.skipif(not tts.espeak_available(), reason="needs espeak-ng")
WORDS = ["one", "two", "three", "house"]
TINY = [
    "train.epochs=1",
    "train.batch_size=8",
    "train.verbose=0",
    "data.valid_fraction=0.25",
    "model.conv_filters=[8, 8]",
    "model.rnn_units=16",
    "model.rnn_layers=1",
]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    """A models folder holding a speech_words built on four words with tiny settings."""
    root = tmp_path_factory.mktemp("models")
    source = root / "sources" / "speech_words"
    source.mkdir(parents=True)
    shutil.copyfile(
        pretrained.models_dir() / "speech_words" / "recipe.yaml", source / "recipe.yaml"
    )
    (source / "words.txt").write_text("# four words\n" + "\n".join(WORDS) + "\n")
    speech_words.build(
        source,
        output=root / "built" / "speech_words",
        clips_per_word=8,
        flite_clips_per_word=2 if tts.flite_available() else 0,
        test_clips_per_word=2,
        work=root / "work",
        overrides=TINY,
        device="cpu",
    )
    return root / "built"


@pytest.fixture
def shipped(models_dir, monkeypatch) -> Path:
    monkeypatch.setattr(pretrained, "models_dir", lambda: models_dir)
    return models_dir


def test_the_build_writes_a_model_its_recipe_and_a_card(models_dir):
    folder = models_dir / "speech_words"
    assert {"model.keras", "recipe.resolved.yaml", "card.yaml", "words.txt", "recipe.yaml"} <= {
        path.name for path in folder.iterdir()
    }
    card = yaml.safe_load((folder / "card.yaml").read_text())
    assert card["task"] == "audio_classification"
    assert card["labels"].startswith("4 words")
    assert 0.0 <= card["figures"]["test_accuracy_held_out_voices"] <= 1.0
    assert card["size_mb"] > 0 and card["build_command"] == "toolkit models build speech_words"
    recipe = load_recipe(folder / "recipe.resolved.yaml")
    # The build machine's data paths are not shipped; the label list is.
    assert recipe.data.train is None and recipe.component("task")["labels"] == sorted(WORDS)
    assert recipe.component("features")["fmax"] == 4000.0


def test_models_list_and_show(shipped):
    cli = CliRunner()
    listed = cli.invoke(main, ["models", "list"])
    assert listed.exit_code == 0 and listed.output.startswith("speech_words  audio_classification")
    shown = cli.invoke(main, ["models", "show", "speech_words"])
    assert shown.exit_code == 0
    assert "training_data:" in shown.output and "test_accuracy_held_out_voices" in shown.output


def test_an_unknown_model_name_is_one_line_listing_the_known_ones(shipped, tmp_path):
    cli = CliRunner()
    shown = cli.invoke(main, ["models", "show", "speech_word"])
    assert shown.exit_code == 2
    assert (
        "pretrained models: speech_words" in shown.output
        and "did you mean speech_words" in shown.output
    )
    train = subset_manifest("train", ["1"], 2, tmp_path)
    tuned = cli.invoke(main, ["finetune", "speech_wrds", "--data", str(train)])
    assert tuned.exit_code == 2 and len(tuned.output.strip().splitlines()) == 1
    assert "pretrained models: speech_words" in tuned.output


def test_finetune_by_name_keeps_the_rows_of_labels_said_as_its_words(shipped, tmp_path):
    train = subset_manifest("train", ["1", "2", "3"], 4, tmp_path)
    cli = CliRunner()
    result = cli.invoke(
        main,
        [
            "finetune",
            "speech_words",
            "--data",
            str(train),
            "--epochs",
            "1",
            "--output",
            str(tmp_path / "run"),
            "--set",
            "train.batch_size=4",
            "--set",
            "data.synthetic_clips_per_label=0",
            "--set",
            "export.enabled=false",
        ],
    )
    assert result.exit_code == 0, result.output
    recipe = load_recipe(tmp_path / "run" / runner.RESOLVED_RECIPE)
    # "1", "2" and "3" took the rows of the words one, two and three.
    assert recipe.finetune.labels_kept == ["one", "two", "three"]
    assert Path(recipe.finetune.source) == shipped / "speech_words"


def own_data(tmp_path: Path, *settings: str):
    train = subset_manifest("train", ["1", "2"], 4, tmp_path)
    return load_recipe(
        REPO / "recipes" / "keyword_spotting" / "own_data.yaml",
        [
            f"data.train={train}",
            "train.epochs=1",
            "train.batch_size=4",
            "train.verbose=0",
            "data.synthetic_clips_per_label=0",
            "export.enabled=false",
            *settings,
        ],
    )


def test_the_own_data_recipe_starts_from_the_shipped_model(shipped, tmp_path):
    recipe = own_data(tmp_path, f"model.pretrained={shipped / 'speech_words'}")
    run = runner.train(recipe, tmp_path / "run")
    saved = load_recipe(tmp_path / "run" / runner.RESOLVED_RECIPE)
    assert saved.finetune.source == str(shipped / "speech_words")
    # The shipped model's features and backbone, not the recipe's own.
    assert saved.component("features")["fmax"] == 4000.0
    assert saved.component("model")["rnn_units"] == 16
    assert run.model is not None


def test_model_pretrained_null_trains_from_scratch(shipped, tmp_path):
    recipe = own_data(tmp_path, "model.pretrained=null")
    assert recipe.pretrained is None
    runner.train(recipe, tmp_path / "run")
    saved = load_recipe(tmp_path / "run" / runner.RESOLVED_RECIPE)
    assert saved.finetune.source is None and saved.component("model")["rnn_units"] == 128


def test_a_pretrained_model_that_does_not_fit_is_left_out(shipped, tmp_path, caplog):
    recipe = own_data(
        tmp_path, f"model.pretrained={shipped / 'speech_words'}", "task.sample_rate=8000"
    )
    with caplog.at_level("WARNING", logger="toolkit"):
        runner.train(recipe, tmp_path / "run")
    assert "does not fit this recipe" in caplog.text and "task.sample_rate 16000" in caplog.text
    saved = load_recipe(tmp_path / "run" / runner.RESOLVED_RECIPE)
    assert saved.finetune.source is None and saved.pretrained is None
