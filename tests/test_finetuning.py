"""Fine-tuning from a trained run: the same outputs continue the source's head, new outputs get
a new head trained alone first, vocabularies are kept, and bad input is one line."""

from __future__ import annotations

import logging
import shutil
import textwrap
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from click.testing import CliRunner

import toolkit
from tests.tiny_data import ASSETS, REPO, run_without_toolkit, subset_manifest
from toolkit import finetuning, runner
from toolkit.cli import main
from toolkit.recipes import load_recipe
from toolkit.tasks.heads import carry_head_weights
from toolkit.text.readers import read_conll, write_conll

AUDIO_RECIPE = {
    "task": {"type": "audio_classification", "sample_rate": 8000, "clip_duration": 1.0},
    "data": {"valid_fraction": 0.25},
    "features": {"type": "log_mel", "num_mel_bins": 16},
    "model": {"type": "ds_cnn", "filters": 8, "num_blocks": 1},
    "train": {"epochs": 1, "batch_size": 4, "verbose": 0},
}
SERVE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf
    assert "toolkit" not in sys.modules
    model = tf.saved_model.load(sys.argv[1])
    waveforms = np.load(sys.argv[2])
    out = model.signatures["serving_default"](waveforms=tf.constant(waveforms))
    json.dump({
        "probabilities": out["probabilities"].numpy().tolist(),
        "labels": [label.decode() for label in model.metadata()["labels"].numpy()],
    }, open(sys.argv[3], "w"))
    assert "toolkit" not in sys.modules
    """
)


def layer_of(model, kind: str, recipe) -> keras.layers.Layer:
    from toolkit import registry

    layer_class = registry.get(kind, recipe.component(kind)["type"])
    return next(layer for layer in model.layers if isinstance(layer, layer_class))


def backbone_weights(model_path: Path, recipe) -> list[np.ndarray]:
    model = keras.saving.load_model(model_path, compile=False)
    return layer_of(model, "model", recipe).get_weights()


def log_text(run_dir: Path) -> str:
    return (run_dir / "log.txt").read_text()


@pytest.fixture(scope="module")
def audio_source(tmp_path_factory) -> Path:
    """A tiny keyword run on the digits 0, 1 and 2 (8 kHz)."""
    folder = tmp_path_factory.mktemp("audio_source")
    train = subset_manifest("train", ["0", "1", "2"], 4, folder)
    recipe = dict(AUDIO_RECIPE, data={**AUDIO_RECIPE["data"], "train": str(train)})
    return runner.train(load_recipe(recipe), folder / "run").directory


@pytest.fixture(scope="module")
def new_labels_run(audio_source, tmp_path_factory) -> toolkit.api.RunModel:
    """The digit run fine-tuned on 1, 2 and 3: one label new, two shared."""
    folder = tmp_path_factory.mktemp("new_labels")
    train = subset_manifest("train", ["1", "2", "3"], 4, folder)
    test = subset_manifest("test", ["1", "2", "3"], 2, folder)
    return toolkit.finetune(
        audio_source,
        train,
        test=test,
        output=folder / "run",
        epochs=2,
        overrides={"finetune.head_epochs": 1, "train.learning_rate": 0.01},
    )


def test_the_same_labels_continue_from_the_source_weights(audio_source, tmp_path):
    # Labels listed in another order: the source's order is kept, so its head continues.
    train = subset_manifest("train", ["2", "1", "0"], 4, tmp_path)
    # At a learning rate of 0 with the backbone frozen, training leaves the source as it was.
    # A .keras file of a run is a source as its run directory is.
    run = finetuning.finetune(
        audio_source / "model.keras",
        data=train,
        output=tmp_path / "run",
        freeze="backbone",
        epochs=1,
        overrides={"train.learning_rate": 0.0},
    )
    source = runner.open_run(audio_source)
    assert run.task.labels == source.task.labels
    for new, old in zip(run.model.get_weights(), source.model.get_weights(), strict=True):
        np.testing.assert_allclose(new, old)
    reopened = runner.open_run(run.directory)
    assert reopened.recipe.finetune.labels_kept == source.task.labels
    assert reopened.recipe.finetune.source == str(audio_source / "model.keras")


def test_freeze_n_keeps_the_backbone_s_first_layers_frozen(audio_source):
    source = runner.open_run(audio_source)
    features = layer_of(source.model, "features", source.recipe)
    backbone = layer_of(source.model, "model", source.recipe)
    groups = finetuning.backbone_layer_weights(backbone)
    built = runner.BuiltModel(source.model, features, backbone)
    finetuning.freezer(2)(built)
    frozen = [variable for group in groups[:2] for variable in group]
    assert not any(variable.trainable for variable in frozen)
    assert len(backbone.trainable_weights) == sum(len(group) for group in groups[2:])
    finetuning.freezer("backbone")(built)
    assert backbone.trainable_weights == []
    finetuning.freezer("none")(built)
    assert len(backbone.trainable_weights) == sum(len(group) for group in groups)


def test_new_labels_get_a_new_head_on_the_trained_backbone(new_labels_run, audio_source):
    run = new_labels_run.run
    source = runner.open_run(audio_source)
    assert run.task.labels == ["1", "2", "3"]
    assert run.recipe.finetune.labels_kept == ["1", "2"]
    assert run.model.output_shape[-1] == 3
    # Phase 1 trains the head alone: the backbone is the source's; phase 2 trains it too.
    phase_one = run.directory / "phases" / "1" / "checkpoints" / "last.keras"
    before = backbone_weights(audio_source / "model.keras", source.recipe)
    for new, old in zip(backbone_weights(phase_one, run.recipe), before, strict=True):
        np.testing.assert_array_equal(new, old)
    after = layer_of(run.model, "model", run.recipe).get_weights()
    assert any(not np.allclose(new, old) for new, old in zip(after, before, strict=True))
    history = pd.read_csv(run.directory / "history.csv")
    assert list(history["epoch"]) == [0, 1]
    log = log_text(run.directory)
    assert "2 shared with the source (new: 3)" in log and "phase 2" in log
    assert "resampled to the source model's 8000 Hz" in log
    assert set(new_labels_run.metrics) >= {"valid", "test"}


def test_freeze_none_trains_the_backbone_from_the_first_epoch(audio_source, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="toolkit")
    train = subset_manifest("train", ["1", "2", "3"], 4, tmp_path)
    run = finetuning.finetune(
        audio_source,
        data=train,
        output=tmp_path / "run",
        freeze="none",
        epochs=1,
        overrides={"train.learning_rate": 0.01},
    )
    # A new head, yet no head-only phase: one phase, the backbone trained in it.
    assert run.recipe.finetune.labels_kept == ["1", "2"]
    assert not (run.directory / "phases").exists()
    assert "phase 1" not in caplog.text and "1 epoch(s), nothing frozen" in caplog.text
    source = runner.open_run(audio_source)
    before = backbone_weights(audio_source / "model.keras", source.recipe)
    after = layer_of(run.model, "model", run.recipe).get_weights()
    assert any(not np.allclose(new, old) for new, old in zip(after, before, strict=True))


def test_the_fine_tuned_saved_model_serves_without_the_toolkit(new_labels_run, tmp_path):
    waveforms = np.random.default_rng(0).normal(0, 0.1, (2, 8000)).astype(np.float32)
    np.save(tmp_path / "waveforms.npy", waveforms)
    export = new_labels_run.directory / "export" / "saved_model"
    run_without_toolkit(
        SERVE_SCRIPT,
        tmp_path,
        str(export),
        str(tmp_path / "waveforms.npy"),
        str(tmp_path / "out.json"),
    )
    import json

    served = json.loads((tmp_path / "out.json").read_text())
    assert served["labels"] == ["1", "2", "3"]
    expected = new_labels_run.run.model.predict(waveforms, verbose=0)
    np.testing.assert_allclose(served["probabilities"], expected, atol=1e-5)


def test_a_new_head_keeps_the_rows_of_the_labels_it_shares(audio_source):
    from toolkit.tasks.audio_classification import AudioClassification

    source = runner.open_run(audio_source)
    task = AudioClassification(sample_rate=8000, labels=["2", "new", "0"])
    model = task.build_model(
        features=layer_of(source.model, "features", source.recipe),
        backbone=layer_of(source.model, "model", source.recipe),
        augment=source.recipe.augment,
    )
    kept = task.carry_head(source_model=source.model, source=source.task, model=model)
    assert kept == ["2", "0"]
    old_kernel, old_bias = source.model.get_layer("probabilities").get_weights()
    kernel, bias = model.get_layer("probabilities").get_weights()
    np.testing.assert_array_equal(kernel[:, [0, 2]], old_kernel[:, [2, 0]])
    np.testing.assert_array_equal(bias[[0, 2]], old_bias[[2, 0]])
    assert model.output_shape[-1] == 3


def test_shared_outputs_keep_their_rows_of_the_old_head():
    def head(units: int, name: str) -> keras.Model:
        inputs = keras.Input((4,))
        hidden = keras.layers.Dense(3, name="pool")(inputs)
        return keras.Model(inputs, keras.layers.Dense(units, name=name)(hidden))

    old, new = head(3, "probabilities"), head(2, "probabilities")
    kept = carry_head_weights(old, new, {"probabilities": "last"}, ["a", "b", "c"], ["c", "x"])
    assert kept == ["c"]
    old_kernel, old_bias = old.get_layer("probabilities").get_weights()
    kernel, bias = new.get_layer("probabilities").get_weights()
    np.testing.assert_array_equal(kernel[:, 0], old_kernel[:, 2])
    assert bias[0] == old_bias[2]
    # A layer that does not depend on the outputs comes whole.
    for a, b in zip(
        old.get_layer("pool").get_weights(), new.get_layer("pool").get_weights(), strict=True
    ):
        np.testing.assert_array_equal(a, b)
    # Transitions between outputs keep both axes' rows.
    from toolkit.tasks.heads import keep_rows

    transitions = np.arange(9.0).reshape(3, 3)
    result = keep_rows(transitions, np.zeros((3, 3)), [(0, 2), (1, 0)], every_axis=True)
    np.testing.assert_array_equal(result[:2, :2], [[8.0, 6.0], [2.0, 0.0]])


# Text ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def text_source(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("text_source")
    recipe = load_recipe(
        "text_classification/tiny_reviews",
        {"train.epochs": 1, "train.verbose": 0, "model.embedding_dim": 8, "data.test": None},
    )
    return runner.train(recipe, folder / "run").directory


# Reviews with words the tiny review data never shows (zorblax, quibbly, wumple, ...).
NEW_WORD_REVIEWS = [
    ("The zorblax gadget is splendiferous.", "good"),
    ("The battery is excellent, a quibbly delight.", "good"),
    ("I love this phone, the fit is great.", "good"),
    ("The delivery was fantastic and the wumple works.", "good"),
    ("A fantastic jacket, flibbering good.", "good"),
    ("The screen is excellent.", "good"),
    ("The zorblax gadget is terrible.", "bad"),
    ("The battery is awful and broken.", "bad"),
    ("The delivery was disappointing, a grumbly mess.", "bad"),
    ("The fit is terrible and noisy.", "bad"),
    ("Broken on arrival, snorfling awful.", "bad"),
    ("The screen is disappointing.", "bad"),
]


def new_word_reviews(folder: Path) -> Path:
    data = folder / "reviews.csv"
    pd.DataFrame(NEW_WORD_REVIEWS, columns=["text", "label"]).to_csv(data, index=False)
    return data


@pytest.fixture(scope="module")
def sequence_text_source(tmp_path_factory) -> Path:
    """The tiny review recipe with a word sequence into a TextCNN (an embedding table)."""
    folder = tmp_path_factory.mktemp("sequence_text_source")
    recipe = load_recipe(
        "text_classification/tiny_reviews",
        {
            "features.output_mode": "sequence",
            "features.ngrams": 1,
            "model.type": "text_cnn",
            "model.embedding_dim": 8,
            "model.filters": 4,
            "model.kernel_sizes": [2, 3],
            "train.epochs": 1,
            "train.verbose": 0,
            "data.test": None,
        },
    )
    return runner.train(recipe, folder / "run").directory


def test_text_keeps_the_source_vocabulary_and_logs_unknown_tokens(text_source, tmp_path):
    data = new_word_reviews(tmp_path)
    run = toolkit.finetune(text_source, data, output=tmp_path / "run", epochs=1, export=False)
    source = runner.open_run(text_source)
    vocabulary = layer_of(run.run.model, "features", run.run.recipe).vocabulary()
    assert vocabulary == layer_of(source.model, "features", source.recipe).vocabulary()
    assert run.run.task.labels == ["bad", "good"] and run.run.recipe.finetune.labels_kept == []
    log = log_text(run.directory)
    assert "vocabulary kept from the source model" in log
    unknown = int(log.split("vocabulary kept from the source model: ")[1].split(" of ")[0])
    assert unknown >= 6 and "%) are out of it" in log


def test_extend_vocabulary_adds_the_new_words_and_keeps_the_source_rows(
    sequence_text_source, tmp_path
):
    # At a learning rate of 0 nothing trains: the rows are as the extension left them.
    run = toolkit.finetune(
        sequence_text_source,
        new_word_reviews(tmp_path),
        output=tmp_path / "run",
        epochs=1,
        freeze="none",
        overrides={"train.learning_rate": 0.0},
        extend_vocabulary=True,
    )
    source = runner.open_run(sequence_text_source)
    old_tokenizer = layer_of(source.model, "features", source.recipe)
    old_vocabulary = old_tokenizer.vocabulary()
    reopened = runner.open_run(run.directory)
    assert reopened.recipe.finetune.extend_vocabulary is True
    tokenizer = layer_of(reopened.model, "features", reopened.recipe)
    vocabulary = tokenizer.vocabulary()
    added = vocabulary[len(old_vocabulary) :]
    assert vocabulary[: len(old_vocabulary)] == old_vocabulary
    assert {"zorblax", "quibbly", "wumple"} <= set(added)
    ids = tokenizer(tf.constant(["zorblax wumple"])).numpy()[0]
    assert old_tokenizer(tf.constant(["zorblax wumple"])).numpy()[0][:2].tolist() == [1, 1]
    assert ids[0] == vocabulary.index("zorblax") and ids[1] == vocabulary.index("wumple")
    # Old rows are the source's; new rows start as its unknown token's.
    old_table = layer_of(source.model, "model", source.recipe).embedding.embeddings.numpy()
    backbone = layer_of(reopened.model, "model", reopened.recipe)
    table = backbone.embedding.embeddings.numpy()
    assert backbone.vocabulary_size == len(vocabulary) == table.shape[0]
    np.testing.assert_array_equal(table[: len(old_vocabulary)], old_table)
    np.testing.assert_array_equal(table[len(old_vocabulary) :], old_table[[1] * len(added)])
    log = log_text(run.directory)
    assert f"{len(added)} tokens added ({len(vocabulary)} now)" in log
    assert "read as unknown" not in log
    # The exported SavedModel (checked against the Keras model when written) takes raw text.
    served = tf.saved_model.load(str(run.directory / "export" / "saved_model"))
    texts = tf.constant(["The zorblax gadget is terrible."])
    outputs = served.signatures["serving_default"](text=texts)
    np.testing.assert_allclose(
        outputs["probabilities"].numpy(), reopened.model.predict(texts, verbose=0), atol=1e-5
    )


def test_extend_vocabulary_fills_a_bag_of_n_grams_up_to_its_width(text_source, tmp_path):
    run = finetuning.finetune(
        text_source,
        data=new_word_reviews(tmp_path),
        output=tmp_path / "run",
        epochs=1,
        extend_vocabulary=True,
    )
    source = runner.open_run(text_source)
    old_vocabulary = layer_of(source.model, "features", source.recipe).vocabulary()
    vocabulary = layer_of(run.model, "features", run.recipe).vocabulary()
    assert vocabulary[: len(old_vocabulary)] == old_vocabulary
    assert {"zorblax", "zorblax gadget"} <= set(vocabulary[len(old_vocabulary) :])
    # The bag keeps its width (max_tokens): the backbone is the source's shape.
    assert [w.shape for w in layer_of(run.model, "model", run.recipe).weights] == [
        w.shape for w in layer_of(source.model, "model", source.recipe).weights
    ]
    reopened = runner.open_run(run.directory)
    assert layer_of(reopened.model, "features", reopened.recipe).vocabulary() == vocabulary


# Tagging -------------------------------------------------------------------------------


def first_sentences(name: str, count: int, folder: Path, rename: dict[str, str] | None = None):
    frame = read_conll(REPO / "assets" / "text_entities" / name).head(count)
    if rename:
        frame = frame.assign(
            tags=[[rename.get(tag, tag) for tag in tags] for tags in frame["tags"]]
        )
    return write_conll(frame, folder / name)


def test_tagging_with_a_new_tag_set(tmp_path):
    source_dir = tmp_path / "source"
    source_dir.mkdir()
    recipe = load_recipe(
        "sequence_tagging/tiny_entities",
        {
            "data.train": str(first_sentences("train.conll", 80, source_dir)),
            "data.valid": str(first_sentences("valid.conll", 20, source_dir)),
            "data.test": None,
            "model.rnn_units": 8,
            "model.word_embedding_dim": 8,
            "model.character_filters": 8,
            "train.epochs": 1,
            "train.verbose": 0,
        },
    )
    source = runner.train(recipe, source_dir / "run")
    rename = {"B-PER": "B-PERSON", "I-PER": "I-PERSON"}
    train = first_sentences("train.conll", 40, tmp_path, rename)
    valid = first_sentences("valid.conll", 10, tmp_path, rename)
    run = finetuning.finetune(
        source.directory, data=train, valid=valid, output=tmp_path / "run", epochs=1
    )
    assert "B-PERSON" in run.task.tags and "B-PER" not in run.task.tags
    kept = run.recipe.finetune.labels_kept
    assert "O" in kept and "B-LOC" in kept and "B-PERSON" not in kept
    source_tags = source.task.output_names()
    new_tags = run.task.output_names()
    assert len(new_tags) == len(source_tags)
    # The word vocabulary is the source's, not one learnt from the new sentences.
    words = layer_of(run.model, "features", run.recipe).words.get_vocabulary()
    assert words == layer_of(source.model, "features", source.recipe).words.get_vocabulary()


# Speech --------------------------------------------------------------------------------

SPEECH_ASSETS = REPO / "assets" / "tts_phrases"
TINY_QUARTZNET = {
    "model.prolog_channels": 16,
    "model.block_channels": [16, 16],
    "model.block_kernel_sizes": [7, 9],
    "model.block_repeats": 1,
    "model.epilog_channels": 16,
    "model.epilog_kernel_size": 9,
    "model.final_channels": 16,
    "features.num_mel_bins": 20,
    "train.batch_size": 4,
    "train.epochs": 1,
    "train.verbose": 0,
}


def speech_manifest(rows: int, folder: Path, name: str, digits: bool = False) -> Path:
    table = pd.read_csv(SPEECH_ASSETS / "train.csv").head(rows)
    table = table.assign(audio=[str(SPEECH_ASSETS / p) for p in table["audio"]])
    if digits:
        table = table.assign(transcript=[f"{text} 2 7" for text in table["transcript"]])
    path = folder / name
    table.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def speech_source(tmp_path_factory) -> runner.Run:
    folder = tmp_path_factory.mktemp("speech_source")
    recipe = load_recipe(
        "speech_recognition/tts_phrases",
        {
            **TINY_QUARTZNET,
            "data.train": str(speech_manifest(8, folder, "source.csv")),
            "data.test": None,
            "data.valid_fraction": 0.25,
        },
    )
    return runner.train(recipe, folder / "source")


def test_speech_with_the_same_alphabet_continues_the_source_head(speech_source, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="toolkit")
    # The source's own transcripts: the same characters, so its output layer continues; at a
    # learning rate of 0 with the backbone frozen it stays exactly the source's.
    data = speech_manifest(8, tmp_path, "same.csv")
    run = finetuning.finetune(
        speech_source.directory,
        data=data,
        output=tmp_path / "run",
        epochs=1,
        freeze="backbone",
        overrides={"train.learning_rate": 0.0},
    )
    assert run.task.alphabet == speech_source.task.alphabet
    assert run.recipe.finetune.labels_kept == speech_source.task.output_names()
    assert "the same outputs, its head continues" in caplog.text
    assert not (run.directory / "phases").exists()
    for new, old in zip(
        run.model.get_layer("logits").get_weights(),
        speech_source.model.get_layer("logits").get_weights(),
        strict=True,
    ):
        np.testing.assert_array_equal(new, old)


def test_speech_with_a_new_alphabet_gets_a_new_output_layer_and_language_model(
    speech_source, tmp_path
):
    source = speech_source
    data = speech_manifest(8, tmp_path, "digits.csv", digits=True)
    run = finetuning.finetune(source.directory, data=data, output=tmp_path / "run", epochs=1)
    assert {"2", "7"} <= set(run.task.alphabet)
    kept = run.recipe.finetune.labels_kept
    assert set(source.task.alphabet) <= set(kept) and "<blank>" in kept and "2" not in kept
    # The word language model is built from the new transcripts.
    assert " 7" in (run.directory / "lm.arpa").read_text()


# Bad input -----------------------------------------------------------------------------


def finetune_cli(source: Path | str, data: Path | str, *extra: str, output: Path):
    return CliRunner().invoke(
        main, ["finetune", str(source), "--data", str(data), "--output", str(output), *extra]
    )


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {
        str(path): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def one_error_line(result) -> str:
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    return errors[0]


def test_bad_input_is_one_line_and_leaves_the_source_as_it_was(audio_source, text_source, tmp_path):
    before = snapshot(audio_source), snapshot(text_source)
    data = subset_manifest("train", ["5", "6", "7"], 4, tmp_path)
    output = tmp_path / "run"

    line = one_error_line(finetune_cli(tmp_path / "missing", data, output=output))
    assert "no such run directory or .keras file" in line
    not_a_run = tmp_path / "not_a_run"
    not_a_run.mkdir()
    assert "not a run" in one_error_line(finetune_cli(not_a_run, data, output=output))

    clips = tmp_path / "clips" / "yes"
    clips.mkdir(parents=True)
    for path in sorted((ASSETS / "train" / "0").glob("*.flac"))[:2]:
        shutil.copy(path, clips / path.name)
    line = one_error_line(finetune_cli(text_source, clips.parent, output=output))
    assert "holds audio" in line and "text_classification" in line

    line = one_error_line(
        finetune_cli(
            audio_source,
            data,
            "--freeze",
            "backbone",
            "--set",
            "finetune.head_epochs=0",
            output=output,
        )
    )
    assert "head_epochs" in line
    line = one_error_line(
        finetune_cli(audio_source, data, "--set", "features.num_mel_bins=20", output=output)
    )
    assert "features" in line
    line = one_error_line(
        finetune_cli(audio_source, data, "--set", "task.sample_rate=16000", output=output)
    )
    assert "task.sample_rate" in line and "resampled" in line
    assert (snapshot(audio_source), snapshot(text_source)) == before


@pytest.fixture(scope="module")
def subword_source(tmp_path_factory) -> Path:
    pytest.importorskip("tensorflow_text")
    folder = tmp_path_factory.mktemp("subword_source")
    recipe = load_recipe(
        {
            "task": {"type": "text_classification"},
            "data": {"train": str(REPO / "assets" / "text_reviews" / "train.csv")},
            "features": {"type": "subword", "max_tokens": 120, "max_length": 64},
            "model": {"type": "text_cnn", "embedding_dim": 8, "filters": 4},
            "train": {"epochs": 1, "batch_size": 32, "verbose": 0},
        }
    )
    return runner.train(recipe, folder / "run").directory


def test_extend_vocabulary_is_refused_in_one_line_for_subwords_and_audio(
    subword_source, audio_source, tmp_path
):
    reviews = new_word_reviews(tmp_path)
    line = one_error_line(
        finetune_cli(subword_source, reviews, "--extend-vocabulary", output=tmp_path / "a")
    )
    assert line.startswith("error: finetune.extend_vocabulary: ")
    assert "subword tokenizer covers any text" in line
    clips = subset_manifest("train", ["1", "2"], 2, tmp_path)
    line = one_error_line(
        finetune_cli(audio_source, clips, "--extend-vocabulary", output=tmp_path / "b")
    )
    assert "finetune.extend_vocabulary" in line and "reads audio" in line


def test_a_head_phase_as_long_as_the_run_leaves_half_of_it_to_the_backbone(audio_source):
    from toolkit import finetuning

    def epochs_of(epochs: int, freeze: str | int) -> list[int]:
        recipe = finetuning.finetune_recipe(
            audio_source,
            data=audio_source,
            freeze=freeze,
            epochs=epochs,
            overrides={"finetune.head_epochs": 3},
        )
        phases = finetuning.plan_phases(recipe, new_head=True, shared=0, layers=4)
        return [phase.train.epochs for phase in phases]

    assert epochs_of(10, "head_first") == [3, 7]
    assert epochs_of(3, "head_first") == [1, 2]
    assert epochs_of(3, 1) == [1, 2]
    assert epochs_of(1, "head_first") == [1]
    # Only the head trains with freeze backbone, however the epochs fall.
    assert sum(epochs_of(3, "backbone")) == 3
    # A backbone without weights leaves the new head alone to train, at the full rate.
    recipe = finetuning.finetune_recipe(audio_source, data=audio_source, epochs=3)
    (phase,) = finetuning.plan_phases(recipe, new_head=True, shared=0, layers=0)
    assert phase.train.epochs == 3 and phase.train.learning_rate == recipe.train.learning_rate
