"""Speech recognition end to end on assets/tts_phrases: train, evaluate, export, reload the
SavedModel without the toolkit; an overfit check; bad input."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile
import tensorflow as tf
from click.testing import CliRunner

from tests.tiny_data import REPO, run_without_toolkit
from toolkit import runner
from toolkit.cli import main

ASSETS = REPO / "assets" / "tts_phrases"
RECIPE = "speech_recognition/tts_phrases"
SMALL = [
    "--set", "model.prolog_channels=32",
    "--set", "model.block_channels=[32, 32]",
    "--set", "model.block_kernel_sizes=[7, 9]",
    "--set", "model.epilog_channels=32",
    "--set", "model.epilog_kernel_size=9",
    "--set", "model.final_channels=48",
    "--set", "features.num_mel_bins=32",
    "--set", "task.beam_width=4",
    "--set", "train.batch_size=8",
    "--set", "train.verbose=0",
]  # fmt: skip

SERVE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import soundfile
    import tensorflow as tf
    assert "toolkit" not in sys.modules
    model = tf.saved_model.load(sys.argv[1])
    paths = json.load(open(sys.argv[2]))
    waves = [soundfile.read(p, dtype="float32")[0] for p in paths]
    lengths = [len(w) for w in waves]
    batch = np.zeros((len(waves), max(lengths)), np.float32)
    for row, wave in enumerate(waves):
        batch[row, : len(wave)] = wave
    out = model.signatures["serving_default"](waveforms=tf.constant(batch), lengths=tf.constant(lengths))
    wav = model.signatures["wav_bytes"](wav_bytes=tf.constant([open(p, "rb").read() for p in sys.argv[4:]]))
    result = {
        "batched": [t.decode() for t in out["transcript"].numpy()],
        "wav_bytes": [t.decode() for t in wav["transcript"].numpy()],
        "alphabet": [a.decode() for a in model.metadata()["alphabet"].numpy()],
        "decoder": model.metadata()["decoder"].numpy().decode(),
        "language_model": model.metadata()["language_model"].numpy().decode(),
    }
    json.dump(result, open(sys.argv[3], "w"))
    assert "toolkit" not in sys.modules
    """
)


def run_cli(*arguments: str):
    return CliRunner().invoke(main, list(arguments))


def subset(split: str, rows: int, folder: Path) -> Path:
    table = pd.read_csv(ASSETS / f"{split}.csv").head(rows)
    table = table.assign(audio=[str(ASSETS / p) for p in table["audio"]])
    path = folder / f"{split}.csv"
    table.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("speech")
    train, test = subset("train", 40, folder), subset("test", 8, folder)
    run_dir = folder / "run"
    result = run_cli(
        "run", RECIPE, "-o", str(run_dir), "--epochs", "2", *SMALL,
        "--set", f"data.train={train}", "--set", f"data.test={test}",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return run_dir


def test_run_writes_error_rates_errors_and_a_language_model(trained_run: Path):
    metrics = json.loads((trained_run / "metrics.json").read_text())
    for key in ("wer", "cer", "greedy_wer", "beam_wer", "beam_lm_wer", "greedy_cer"):
        assert 0.0 <= metrics["test"][key], key
    assert metrics["test"]["decoder"] == "beam_lm"
    errors = pd.read_csv(trained_run / "errors_test.csv", keep_default_na=False)
    assert list(errors.columns[:5]) == ["source", "audio", "reference", "hypothesis", "word_errors"]
    assert errors["word_errors"].is_monotonic_decreasing and len(errors) == 8
    assert (trained_run / "lm.arpa").is_file()
    history = pd.read_csv(trained_run / "history.csv")
    assert {"loss", "val_loss", "val_wer", "val_cer"} <= set(history.columns)
    assert np.all(np.isfinite(history["loss"]))
    assert (trained_run / "plots" / "learning_curves.png").is_file()


def test_saved_model_transcribes_as_the_python_path_without_toolkit(
    trained_run: Path, tmp_path: Path
):
    run = runner.open_run(trained_run)
    test = pd.read_csv(trained_run.parent / "test.csv")
    paths = list(test["audio"])
    frame = test.assign(duration=[soundfile.info(p).duration for p in paths], source=paths)
    # The recipe decodes with its language model: so does the export.
    expected = run.task.transcribe(run.model, frame, 4, ("beam_lm",))["beam_lm"]
    # 16-bit WAV copies for the WAV-bytes signature.
    wavs = []
    for index, path in enumerate(paths[:3]):
        audio, rate = soundfile.read(path, dtype="float32")
        wavs.append(str(tmp_path / f"{index}.wav"))
        soundfile.write(wavs[-1], audio, rate, subtype="PCM_16")
    (tmp_path / "paths.json").write_text(json.dumps(paths))
    run_without_toolkit(
        SERVE_SCRIPT,
        tmp_path,
        str(trained_run / "export" / "saved_model"),
        str(tmp_path / "paths.json"),
        str(tmp_path / "out.json"),
        *wavs,
    )
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["batched"] == expected
    assert out["wav_bytes"] == expected[:3]
    assert out["alphabet"] == run.task.alphabet
    assert out["decoder"] == "beam4+lm" and out["language_model"].startswith("3-gram, ")
    # The in-graph search gives what the Python reference decoder gives on the same outputs.
    from toolkit.speech.lm_decoder import decode_with_language_model

    logits = next(run.task.logits_batches(run.model, frame, len(frame)))[1]
    task = run.task
    reference = decode_with_language_model(
        np.asarray(tf.nn.log_softmax(logits), np.float64),
        list(task.output_units),
        task.language_model(),
        task.beam_width,
        task.lm_weight,
        task.word_bonus,
        task.unknown_word_penalty,
    )
    order = np.argsort(frame["duration"].to_numpy(), kind="stable")
    assert [expected[i] for i in order] == reference


def test_predict_and_evaluate_commands(trained_run: Path):
    test = pd.read_csv(trained_run.parent / "test.csv")
    audio = test["audio"].iloc[0]
    from_run = run_cli("predict", str(trained_run), audio)
    from_export = run_cli("predict", str(trained_run / "export" / "saved_model"), audio)
    assert from_run.exit_code == 0 and from_export.exit_code == 0, (
        from_run.output + from_export.output
    )
    assert "transcript" in from_run.output and "transcript" in from_export.output
    result = run_cli("evaluate", str(trained_run))
    assert result.exit_code == 0 and "wer" in result.output and "cer" in result.output
    result = run_cli("evaluate", str(trained_run), "--decoder", "greedy")
    assert result.exit_code == 0, result.output
    test = json.loads((trained_run / "metrics.json").read_text())["test"]
    assert test["decoder"] == "greedy" and "beam_lm_wer" not in test
    assert test["wer"] == test["greedy_wer"]
    result = run_cli("evaluate", str(trained_run), "--decoder", "beam_lm")
    test = json.loads((trained_run / "metrics.json").read_text())["test"]
    assert result.exit_code == 0 and test["decoder"] == "beam_lm" and "greedy_wer" not in test
    run_cli("evaluate", str(trained_run), "--decoder", "all")


def test_a_handful_of_phrases_can_be_learned_to_near_zero_error(tmp_path: Path):
    """Overfit: 4 phrases, no augmentation; the model must transcribe them back."""
    import tensorflow as tf

    from toolkit.recipes import load_recipe
    from toolkit.speech.scoring import error_rates

    train = subset("train", 4, tmp_path)
    recipe = load_recipe(
        RECIPE,
        [
            *SMALL[1::2],
            f"data.train={train}",
            f"data.valid={train}",
            "data.test=null",
            "augment.speed_factors=[1.0]",
            "augment.gain_db_range=[0.0, 0.0]",
            "augment.time_masks=0",
            "augment.frequency_masks=0",
            "model.dropout_rate=0.0",
            "task.head_dropout_rate=0.0",
        ],
    )
    task = runner.build_task(recipe)
    splits = runner.load_data(recipe, task, tmp_path)
    tf.keras.utils.set_random_seed(0)
    model = runner.build_model(recipe, task, splits["train"]).model
    model.compile(optimizer=tf.keras.optimizers.Adam(0.003), loss=task.loss(model=model))
    data = task.dataset(
        splits["train"], batch_size=4, training=True, augment=recipe.augment, cache=True
    ).repeat()
    model.fit(data, steps_per_epoch=250, epochs=1, verbose=0)
    hypotheses = task.transcribe(model, splits["train"], 4, ("greedy",))["greedy"]
    assert error_rates(list(splits["train"]["transcript"]), hypotheses)["cer"] < 0.05, hypotheses


# Bad input ---------------------------------------------------------------------------------


def write_manifest(folder: Path, rows: list[tuple[str, str]]) -> Path:
    path = folder / "bad.csv"
    pd.DataFrame(rows, columns=["audio", "transcript"]).to_csv(path, index=False)
    return path


def good_rows(count: int) -> list[tuple[str, str]]:
    table = pd.read_csv(ASSETS / "train.csv").head(count)
    return [(str(ASSETS / a), t) for a, t in zip(table["audio"], table["transcript"], strict=True)]


def check(manifest: Path, *overrides: str):
    return run_cli(
        "data",
        "check",
        RECIPE,
        "--set",
        f"data.train={manifest}",
        "--set",
        "data.test=null",
        *overrides,
    )


def test_empty_transcript_names_the_row(tmp_path: Path):
    manifest = write_manifest(
        tmp_path, [*good_rows(6), (str(ASSETS / "train" / "en-f2_0.flac"), "  ")]
    )
    result = check(manifest)
    assert result.exit_code == 2
    assert "bad.csv row 7" in result.output and "empty transcript" in result.output


def test_characters_outside_the_alphabet_are_listed_or_dropped(tmp_path: Path):
    rows = good_rows(6)
    rows[2] = (rows[2][0], rows[2][1] + " 42")
    manifest = write_manifest(tmp_path, rows)
    alphabet = "task.alphabet=' abcdefghijklmnopqrstuvwxyz'"
    result = check(manifest, "--set", alphabet)
    assert result.exit_code == 2
    assert "'2', '4'" in result.output and "bad.csv row 3" in result.output
    result = check(manifest, "--set", alphabet, "--set", "task.unknown_characters=drop")
    assert result.exit_code == 0, result.output


def test_corrupt_and_silent_audio_are_refused_or_skipped(tmp_path: Path):
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF0000WAVEfmt " + os.urandom(64))
    silent = tmp_path / "silent.wav"
    soundfile.write(silent, np.zeros(16000, np.float32), 16000)
    manifest = write_manifest(tmp_path, [*good_rows(6), (str(silent), "open the door")])
    result = check(manifest)
    assert result.exit_code == 2 and "silent audio" in result.output and "row 7" in result.output
    manifest = write_manifest(tmp_path, [*good_rows(6), (str(corrupt), "open the door")])
    result = check(manifest)
    assert result.exit_code == 2 and "corrupt.wav" in result.output
    result = check(manifest, "--set", "data.on_error=skip")
    assert result.exit_code == 0, result.output


def test_audio_too_short_for_its_transcript_is_left_out_and_listed(tmp_path: Path):
    short = tmp_path / "short.wav"
    soundfile.write(short, np.random.default_rng(0).normal(0, 0.1, 1600).astype(np.float32), 16000)
    rows = [*good_rows(12), (str(short), "turn on the light in the kitchen please now")]
    manifest = write_manifest(tmp_path, rows)
    run_dir = tmp_path / "run"
    result = run_cli(
        "train", RECIPE, "-o", str(run_dir), "--epochs", "1", *SMALL,
        "--set", f"data.train={manifest}", "--set", "data.test=null",
        "--set", "data.valid_fraction=0.2",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    skipped = pd.read_csv(run_dir / "skipped.csv")
    assert "audio too short for its transcript" in set(skipped["reason"])
    assert np.all(np.isfinite(pd.read_csv(run_dir / "history.csv")["loss"]))


def test_subword_units_train_decode_and_export(tmp_path: Path):
    pytest.importorskip("sentencepiece")
    import tensorflow as tf

    train, test = subset("train", 40, tmp_path), subset("test", 4, tmp_path)
    run_dir = tmp_path / "run"
    result = run_cli(
        "run", RECIPE, "-o", str(run_dir), "--epochs", "1", *SMALL,
        "--set", "task.units=sentencepiece", "--set", "task.subword_vocabulary_size=40",
        "--set", f"data.train={train}", "--set", f"data.test={test}",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (run_dir / "subwords.model").is_file()
    metrics = json.loads((run_dir / "metrics.json").read_text())["test"]
    assert {"greedy_wer", "beam_wer", "beam_lm_wer"} <= set(metrics)
    run = runner.open_run(run_dir)
    assert len(run.task.output_units) == run.model.output_shape[-1] - 1
    assert any(unit.startswith("\u2581") for unit in run.task.output_units)
    loaded = tf.saved_model.load(str(run_dir / "export" / "saved_model"))
    units = [u.decode() for u in loaded.metadata()["units"].numpy()]
    assert units == run.task.output_units
    # Ids back to text: the word-boundary mark becomes a space.
    from toolkit.speech.ctc import ids_to_text

    word = next(u for u in units if u.startswith("\u2581") and len(u) > 1)
    ids = tf.ragged.constant([[units.index(word) + 1] * 2])
    expected = f"{word[1:]} {word[1:]}".encode()
    assert ids_to_text(ids, tf.constant(units), True).numpy().tolist() == [expected]


def test_evaluation_decoder_choices_are_checked():
    from toolkit.errors import RecipeError
    from toolkit.tasks.speech_recognition import SpeechRecognition

    task = SpeechRecognition(decoder="beam")
    with pytest.raises(RecipeError, match="no language model"):
        task.set_evaluation_decoder("beam_lm")
    with pytest.raises(RecipeError, match="not a decoder"):
        task.set_evaluation_decoder("viterbi")
    task.set_evaluation_decoder("all")
    assert task.evaluation_decoders == ("greedy", "beam", "beam_lm")
    task.set_evaluation_decoder("greedy")
    assert task.evaluation_decoders == ("greedy",)
    assert task.export_resources() == []


def test_a_language_model_too_large_for_the_graph_decodes_in_python(tmp_path, monkeypatch):
    from toolkit.errors import ToolkitError
    from toolkit.speech.lm import build_arpa, read_arpa
    from toolkit.speech.lm_decoder import decode_with_language_model
    from toolkit.tasks.speech_recognition import SpeechRecognition

    model = read_arpa(build_arpa(["a b", "b a a"], 2, tmp_path / "lm.arpa"))
    task = SpeechRecognition(
        alphabet=[" ", "a", "b"], language_model_file=str(tmp_path / "lm.arpa")
    )

    def too_large():
        raise ToolkitError("the language model is too large to decode in the graph")

    monkeypatch.setattr(task, "language_model_graph", too_large)
    logits = np.random.default_rng(0).normal(size=(2, 12, 4)).astype(np.float32) * 3
    expected = decode_with_language_model(
        np.asarray(tf.nn.log_softmax(logits), np.float64),
        [" ", "a", "b"],
        model,
        task.beam_width,
        task.lm_weight,
        task.word_bonus,
        task.unknown_word_penalty,
    )
    assert task.decode_with_language_model(logits) == expected
