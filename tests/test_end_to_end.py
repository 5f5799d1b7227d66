"""Train a tiny recipe through `toolkit run`, then check every output and the SavedModel."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tests.tiny_data import TINY_RECIPE, run_without_toolkit, subset_manifest
from toolkit.audio.io import pad_or_crop, read_audio, write_wav
from toolkit.cli import main

# Runs in a fresh interpreter that never imports the toolkit: only TensorFlow and NumPy.
SERVE_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import tensorflow as tf
    assert "toolkit" not in sys.modules
    model = tf.saved_model.load(sys.argv[1])
    inputs = np.load(sys.argv[2])
    waveforms = model.signatures["serving_default"](waveforms=tf.constant(inputs["waveforms"]))
    wav = model.signatures["wav_bytes"](wav_bytes=tf.constant([open(p, "rb").read() for p in sys.argv[4:]]))
    meta = model.metadata()
    np.savez(sys.argv[3], probabilities=waveforms["probabilities"].numpy(), label=np.array([x.decode() for x in waveforms["label"].numpy()]),
             wav_probabilities=wav["probabilities"].numpy(), labels=np.array([x.decode() for x in meta["labels"].numpy()]),
             sample_rate=meta["sample_rate"].numpy())
    assert "toolkit" not in sys.modules
    """
)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("e2e")
    labels = ["0", "1", "2"]
    train = subset_manifest("train", labels, 4, folder)
    test = subset_manifest("test", labels, 2, folder)
    recipe = folder / "tiny.yaml"
    recipe.write_text(TINY_RECIPE.format(train=train.name, test=test.name))
    run_dir = folder / "run"
    result = CliRunner().invoke(
        main, ["run", str(recipe), "--output", str(run_dir), "--device", "cpu"]
    )
    assert result.exit_code == 0, result.output
    return run_dir


def test_run_writes_every_output(trained_run: Path):
    for name in (
        "recipe.resolved.yaml",
        "model.keras",
        "checkpoints/best.keras",
        "checkpoints/last.keras",
        "history.csv",
        "metrics.json",
        "training.json",
        "data_summary.txt",
        "log.txt",
        "plots/confusion_test.png",
        "plots/learning_curves.png",
        "errors_test.csv",
        "export/saved_model/saved_model.pb",
    ):
        assert (trained_run / name).exists(), name
    assert any((trained_run / "logs").rglob("events.out.tfevents*"))
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert 0.0 <= metrics["test"]["accuracy"] <= 1.0 and "macro_f1" in metrics["test"]
    assert set(metrics["test"]["per_class"]) == {"0", "1", "2"}
    assert len(pd.read_csv(trained_run / "history.csv")) == 2


def test_resolved_recipe_reruns_as_is(trained_run: Path, tmp_path: Path):
    result = CliRunner().invoke(
        main,
        [
            "train",
            str(trained_run / "recipe.resolved.yaml"),
            "--epochs",
            "1",
            "--output",
            str(tmp_path / "again"),
        ],
    )
    assert result.exit_code == 0, result.output


def test_saved_model_matches_python_predictions_in_a_process_without_toolkit(
    trained_run: Path, tmp_path: Path
):
    from toolkit.runner import open_run

    run = open_run(trained_run)
    rate, clip = run.task.sample_rate, run.task.clip_samples
    test = pd.read_csv(trained_run.parent / "test.csv")
    paths = [str((trained_run.parent / p).resolve()) for p in test["audio"]]
    # One clip longer than the model's window, the others shorter: the graph pads and crops.
    waveforms = [read_audio(p, rate) for p in paths]
    waveforms[0] = np.concatenate([waveforms[0], waveforms[1], waveforms[2]])
    longest = max(len(w) for w in waveforms[:1])
    batch = np.stack([pad_or_crop(waveforms[0], longest)])
    expected = run.model.predict(np.stack([pad_or_crop(w, clip) for w in waveforms[:1]]), verbose=0)
    wav_files = []
    for i, waveform in enumerate(waveforms[1:3]):
        wav_files.append(str(tmp_path / f"clip{i}.wav"))
        write_wav(wav_files[-1], waveform, rate)
    expected_wav = run.model.predict(
        np.stack([pad_or_crop(read_audio(p, rate), clip) for p in wav_files]), verbose=0
    )
    np.savez(tmp_path / "inputs.npz", waveforms=batch.astype(np.float32))
    run_without_toolkit(
        SERVE_SCRIPT,
        tmp_path,
        str(trained_run / "export" / "saved_model"),
        str(tmp_path / "inputs.npz"),
        str(tmp_path / "out.npz"),
        *wav_files,
    )
    served = np.load(tmp_path / "out.npz")
    np.testing.assert_allclose(served["probabilities"], expected, atol=1e-5)
    np.testing.assert_allclose(served["wav_probabilities"], expected_wav, atol=1e-4)
    assert list(served["labels"]) == run.task.labels
    assert int(served["sample_rate"]) == rate


def test_predict_from_run_dir_and_saved_model_agree(trained_run: Path, tmp_path: Path):
    clips = trained_run.parent / "clips"
    clips.mkdir(exist_ok=True)
    test = pd.read_csv(trained_run.parent / "test.csv")
    for i, relative in enumerate(test["audio"][:3]):
        write_wav(clips / f"{i}.wav", read_audio(trained_run.parent / relative, 8000), 8000)
    runner = CliRunner()
    from_run = runner.invoke(
        main, ["predict", str(trained_run), str(clips), "-o", str(tmp_path / "a.csv")]
    )
    assert from_run.exit_code == 0, from_run.output
    from_export = runner.invoke(
        main,
        [
            "predict",
            str(trained_run / "export" / "saved_model"),
            str(clips),
            "-o",
            str(tmp_path / "b.csv"),
        ],
    )
    assert from_export.exit_code == 0, from_export.output
    first, second = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")
    assert list(first["label"]) == list(second["label"]) and len(first) == 3
    np.testing.assert_allclose(first["score"], second["score"], atol=1e-5)
    assert {"label_2", "score_2"} <= set(first.columns)


def test_export_refuses_to_overwrite_without_force(trained_run: Path):
    runner = CliRunner()
    refused = runner.invoke(main, ["export", str(trained_run)])
    assert refused.exit_code == 2 and "--force" in refused.output
    forced = runner.invoke(main, ["export", str(trained_run), "--force"])
    assert forced.exit_code == 0, forced.output
    assert not [p for p in (trained_run / "export").iterdir() if p.name.startswith(".")]


def test_evaluate_on_another_manifest(trained_run: Path):
    result = CliRunner().invoke(
        main, ["evaluate", str(trained_run), "--data", str(trained_run.parent / "test.csv")]
    )
    assert result.exit_code == 0, result.output
    assert "data:test.csv" in json.loads((trained_run / "metrics.json").read_text())


def test_select_last_keeps_the_weights_of_the_last_epoch(tiny_recipe: Path, tmp_path: Path):
    import keras

    run_dir = tmp_path / "run"
    result = CliRunner().invoke(
        main,
        ["run", str(tiny_recipe), "--output", str(run_dir), "--epochs", "3"]
        + ["--set", "train.select=last", "--set", "export.enabled=false"],
    )
    assert result.exit_code == 0, result.output

    def weights(name: str) -> list[np.ndarray]:
        return keras.saving.load_model(run_dir / name, compile=False).get_weights()

    model, last, best = (
        weights("model.keras"),
        weights("checkpoints/last.keras"),
        weights("checkpoints/best.keras"),
    )
    assert all(np.array_equal(a, b) for a, b in zip(model, last, strict=True))
    # This tiny run's best epoch is not its last one, so the check above can tell them apart.
    assert not all(np.array_equal(a, b) for a, b in zip(model, best, strict=True))


def test_a_seeded_run_repeats_exactly(tiny_recipe: Path, tmp_path: Path):
    import keras

    def trained_weights(name: str) -> list[np.ndarray]:
        result = CliRunner().invoke(
            main,
            ["run", str(tiny_recipe), "--output", str(tmp_path / name), "--epochs", "2"]
            + ["--set", "export.enabled=false", "--set", "augment.noise_probability=0.5"],
        )
        assert result.exit_code == 0, result.output
        return keras.saving.load_model(tmp_path / name / "model.keras", compile=False).get_weights()

    first, second = trained_weights("first"), trained_weights("second")
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_an_ensemble_averages_its_members_in_one_exported_model(tiny_recipe: Path, tmp_path: Path):
    import keras

    from toolkit.runner import open_run

    run_dir = tmp_path / "run"
    result = CliRunner().invoke(
        main,
        ["run", str(tiny_recipe), "--output", str(run_dir), "--epochs", "1"]
        + ["--set", "train.ensemble=2", "--set", "train.select=last"],
    )
    assert result.exit_code == 0, result.output
    assert "ensemble member 2 of 2 (seed 1235)" in (run_dir / "log.txt").read_text()
    members = [
        keras.saving.load_model(run_dir / f"members/{i}/checkpoints/last.keras", compile=False)
        for i in (1, 2)
    ]
    run = open_run(run_dir)
    test = pd.read_csv(tiny_recipe.parent / "test.csv")
    clips = np.stack(
        [
            pad_or_crop(read_audio(tiny_recipe.parent / p, 16000), run.task.clip_samples)
            for p in test["audio"]
        ]
    )
    outputs = [member.predict(clips, verbose=0) for member in members]
    # Seeds differ per member, so the members differ and the average is not either one.
    assert not np.allclose(outputs[0], outputs[1], atol=1e-4)
    expected = (outputs[0] + outputs[1]) / 2
    np.testing.assert_allclose(run.model.predict(clips, verbose=0), expected, atol=1e-6)

    history = pd.read_csv(run_dir / "history.csv")
    assert sorted(history["member"].unique()) == [1, 2] and len(history) == 2
    assert (run_dir / "plots" / "learning_curves.png").is_file()
    assert json.loads((run_dir / "training.json").read_text())["ensemble"] == 2

    np.savez(tmp_path / "inputs.npz", waveforms=clips[:2].astype(np.float32))
    write_wav(tmp_path / "clip.wav", clips[0], 16000)
    run_without_toolkit(
        SERVE_SCRIPT,
        tmp_path,
        str(run_dir / "export" / "saved_model"),
        str(tmp_path / "inputs.npz"),
        str(tmp_path / "out.npz"),
        str(tmp_path / "clip.wav"),
    )
    served = np.load(tmp_path / "out.npz")
    np.testing.assert_allclose(served["probabilities"], expected[:2], atol=1e-5)
    np.testing.assert_allclose(served["wav_probabilities"], expected[:1], atol=1e-4)


DETECT_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import tensorflow as tf
    assert "toolkit" not in sys.modules
    model = tf.saved_model.load(sys.argv[1])
    audio = np.load(sys.argv[2])["audio"]
    meta = model.metadata()
    rate = int(meta["sample_rate"].numpy())
    whole = model.signatures["detect"](waveform=tf.constant(audio))
    stream = model.signatures["stream"]
    state = tf.zeros([int(meta["stream_state_size"].numpy())])
    position = tf.constant(0, tf.int64)
    flush = np.zeros(int(meta["stream_flush_samples"].numpy()), np.float32)
    fed = np.concatenate([audio, flush])
    parts = []
    for offset in range(0, len(fed), rate // 20):  # 50 ms chunks
        found = stream(chunk=tf.constant(fed[offset : offset + rate // 20]),
                       sample_rate=tf.constant(rate), state=state, position=position)
        state, position = found["state"], found["position"]
        parts.append(found)
    joined = {key: np.concatenate([part[key].numpy() for part in parts])
              for key in ("keywords", "starts", "ends", "scores")}
    try:
        stream(chunk=tf.constant(audio[:800]), sample_rate=tf.constant(rate // 2),
               state=state, position=position)
        wrong_rate = ""
    except tf.errors.InvalidArgumentError as error:
        wrong_rate = error.message
    np.savez(sys.argv[3], keywords=whole["keywords"].numpy().astype(str),
             starts=whole["starts"].numpy(), ends=whole["ends"].numpy(),
             scores=whole["scores"].numpy(), stream_keywords=joined["keywords"].astype(str),
             stream_starts=joined["starts"], stream_scores=joined["scores"],
             wrong_rate=np.array(wrong_rate))
    assert "toolkit" not in sys.modules
    """
)


def long_recording(run_dir: Path) -> np.ndarray:
    """The test clips one after another, a second of faint noise between them."""
    test = pd.read_csv(run_dir.parent / "test.csv")
    rng = np.random.default_rng(0)
    pieces = []
    for relative in test["audio"]:
        pieces.append(0.001 * rng.normal(size=16000))
        pieces.append(read_audio(str((run_dir.parent / relative).resolve()), 16000))
    return np.concatenate(pieces).astype(np.float32)


def test_saved_model_detects_as_the_run_does_whole_or_streamed(trained_run: Path, tmp_path):
    import toolkit

    audio = long_recording(trained_run)
    expected = toolkit.load(trained_run).detect(audio, sample_rate=16000)
    assert len(expected) > 0  # the recipe's threshold (0.34) is low enough for a tiny model
    streamed = pd.concat(toolkit.load(trained_run).detect_stream(np.array_split(audio, 37)))
    assert list(streamed["keyword"]) == list(expected["keyword"])
    np.testing.assert_allclose(streamed["start"], expected["start"], atol=1e-6)
    np.testing.assert_allclose(streamed["score"], expected["score"], atol=1e-4)
    np.savez(tmp_path / "recording.npz", audio=audio)
    run_without_toolkit(
        DETECT_SCRIPT,
        tmp_path,
        str(trained_run / "export" / "saved_model"),
        str(tmp_path / "recording.npz"),
        str(tmp_path / "found.npz"),
    )
    served = np.load(tmp_path / "found.npz")
    assert list(served["keywords"]) == list(expected["keyword"])
    np.testing.assert_allclose(served["starts"], expected["start"], atol=1e-6)
    np.testing.assert_allclose(served["ends"], expected["end"], atol=1e-6)
    np.testing.assert_allclose(served["scores"], expected["score"], atol=1e-4)
    assert list(served["stream_keywords"]) == list(expected["keyword"])
    np.testing.assert_allclose(served["stream_starts"], expected["start"], atol=1e-6)
    np.testing.assert_allclose(served["stream_scores"], expected["score"], atol=1e-4)
    assert "chunks must be 16000 Hz" in str(served["wrong_rate"])


def test_detect_command_writes_json_and_csv(trained_run: Path, tmp_path: Path, caplog):
    path = tmp_path / "long.wav"
    write_wav(path, long_recording(trained_run), 16000)
    for name in ("found.json", "found.csv"):
        result = CliRunner().invoke(
            main, ["detect", str(trained_run), str(path), "--output", str(tmp_path / name)]
        )
        assert result.exit_code == 0, result.output
    found = json.loads((tmp_path / "found.json").read_text())
    assert found and set(found[0]) == {"recording", "keyword", "start", "end", "score"}
    assert len(pd.read_csv(tmp_path / "found.csv")) == len(found)
    assert "no class for silence or noise" in caplog.text
    # A WAV at the model's rate on stdin is read as a stream, each detection printed as it
    # closes: the same detections as the file's.
    printed = CliRunner().invoke(
        main,
        ["detect", str(trained_run / "export" / "saved_model"), "-"],
        input=path.read_bytes(),
    )
    assert printed.exit_code == 0, printed.output
    rows = [line.split() for line in printed.output.splitlines() if line.startswith("stdin")]
    assert [row[1] for row in rows] == [row["keyword"] for row in found]
    assert [float(row[2]) for row in rows] == pytest.approx(
        [row["start"] for row in found], abs=1e-3
    )
    # Another rate (or format) on stdin is read whole and resampled, like a file.
    other = tmp_path / "other.wav"
    write_wav(other, long_recording(trained_run)[::2], 8000)
    resampled = CliRunner().invoke(
        main, ["detect", str(trained_run), "-"], input=other.read_bytes()
    )
    assert resampled.exit_code == 0, resampled.output
    assert "stdin" in resampled.output or "no keywords detected" in resampled.output


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--output", "found.txt"], "a .csv or .json file"),
        (["--hop-ms", "5000"], "at most the clip"),
    ],
)
def test_detect_command_refuses_bad_settings_in_one_line(
    trained_run: Path, tmp_path: Path, arguments: list[str], message: str
):
    path = tmp_path / "long.wav"
    write_wav(path, long_recording(trained_run)[:32000], 16000)
    result = CliRunner().invoke(main, ["detect", str(trained_run), str(path), *arguments])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
