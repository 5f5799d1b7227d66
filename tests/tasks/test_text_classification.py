"""Text classification end to end on assets/text_reviews, and its bad-input cases."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from tests.tiny_data import REPO, run_without_toolkit
from toolkit.cli import main

ASSETS = REPO / "assets" / "text_reviews"
RECIPE = "text_classification/tiny_reviews"

SERVE_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import tensorflow as tf
    assert "toolkit" not in sys.modules
    model = tf.saved_model.load(sys.argv[1])
    texts = [line for line in open(sys.argv[2], encoding="utf-8").read().split("\\n") if line]
    out = model.signatures["serving_default"](text=tf.constant(texts))
    np.savez(sys.argv[3], probabilities=out["probabilities"].numpy(),
             label=np.array([x.decode() for x in out["label"].numpy()]))
    assert "toolkit" not in sys.modules
    """
)


def small_manifests(folder: Path, rows: int = 120) -> tuple[Path, Path]:
    train = pd.read_csv(ASSETS / "train.csv").head(rows)
    test = pd.read_csv(ASSETS / "test.csv").head(30)
    train.to_csv(folder / "train.csv", index=False)
    test.to_csv(folder / "test.csv", index=False)
    return folder / "train.csv", folder / "test.csv"


def run_cli(*arguments: str):
    return CliRunner().invoke(main, list(arguments))


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("text_e2e")
    train, test = small_manifests(folder)
    run_dir = folder / "run"
    result = run_cli(
        "run",
        RECIPE,
        "-o",
        str(run_dir),
        "--epochs",
        "3",
        "--set",
        f"data.train={train}",
        "--set",
        f"data.test={test}",
        "--set",
        "train.verbose=0",
    )
    assert result.exit_code == 0, result.output
    return run_dir


def test_run_writes_metrics_errors_and_export(trained_run: Path):
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert 0.0 <= metrics["test"]["accuracy"] <= 1.0
    assert set(metrics["test"]["per_class"]) == {"mixed", "negative", "positive"}
    for name in (
        "plots/confusion_test.png",
        "errors_test.csv",
        "data_summary.txt",
        "export/saved_model/saved_model.pb",
    ):
        assert (trained_run / name).exists(), name
    assert "train counts" in (trained_run / "data_summary.txt").read_text()


def test_saved_model_matches_python_in_a_process_without_toolkit(trained_run: Path, tmp_path: Path):
    from toolkit.runner import open_run

    run = open_run(trained_run)
    texts = [
        "The build is not flimsy. Five stars.",
        "Awful!!  The price is TERRIBLE",
        "ünïcode wörds never seen",
    ]
    expected = run.task.probabilities(run.model, texts)
    (tmp_path / "texts.txt").write_text("\n".join(texts), encoding="utf-8")
    run_without_toolkit(
        SERVE_SCRIPT,
        tmp_path,
        str(trained_run / "export" / "saved_model"),
        str(tmp_path / "texts.txt"),
        str(tmp_path / "out.npz"),
    )
    served = np.load(tmp_path / "out.npz")
    np.testing.assert_allclose(served["probabilities"], expected, atol=1e-5)
    assert list(served["label"]) == [run.task.labels[i] for i in expected.argmax(axis=1)]


def test_predict_from_run_and_saved_model_agree(trained_run: Path, tmp_path: Path):
    texts = tmp_path / "texts.txt"
    texts.write_text("The screen is lovely.\nThe sound is noisy, but the fit is great.\n")
    first = run_cli("predict", str(trained_run), str(texts), "-o", str(tmp_path / "a.csv"))
    second = run_cli(
        "predict",
        str(trained_run / "export" / "saved_model"),
        str(texts),
        "Just a text.",
        "-o",
        str(tmp_path / "b.csv"),
    )
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    a, b = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")
    assert len(a) == 2 and len(b) == 3 and b["text"].iloc[2] == "Just a text."
    np.testing.assert_allclose(a["score"], b["score"][:2], atol=1e-5)


def test_keras_round_trip_keeps_the_vocabulary(trained_run: Path):
    import keras

    import toolkit.models.ngram_bag  # noqa: F401
    import toolkit.text.tokenizers  # noqa: F401

    model = keras.saving.load_model(trained_run / "model.keras", compile=False)
    tokenizer = next(layer for layer in model.layers if hasattr(layer, "vocabulary"))
    assert "lovely" in tokenizer.vocabulary() and tokenizer.vocabulary_size() > 50


def test_recurrent_and_cnn_backbones_train(tmp_path: Path):
    train, test = small_manifests(tmp_path, rows=60)
    for model, extra in (
        ("recurrent_text", ["--set", "model.rnn_units=8", "--set", "model.embedding_dim=8"]),
        ("text_cnn", ["--set", "model.filters=8", "--set", "model.embedding_dim=8"]),
    ):
        result = run_cli(
            "train",
            RECIPE,
            "-o",
            str(tmp_path / model),
            "--epochs",
            "1",
            "--set",
            f"data.train={train}",
            "--set",
            f"data.test={test}",
            "--set",
            "train.verbose=0",
            "--set",
            "features.output_mode=sequence",
            "--set",
            "features.max_length=12",
            "--set",
            f"model.type={model}",
            *extra,
        )
        assert result.exit_code == 0, result.output
        assert "longer than features.max_length=12" in (tmp_path / model / "log.txt").read_text()


def test_subword_tokenizer_end_to_end_with_a_saved_model_outside_toolkit(tmp_path: Path):
    pytest.importorskip("tensorflow_text")
    train, test = small_manifests(tmp_path, rows=90)
    recipe = tmp_path / "subwords.yaml"
    recipe.write_text(
        textwrap.dedent(
            f"""
            task: {{type: text_classification}}
            data: {{train: {train}, test: {test}}}
            features: {{type: subword, max_tokens: 120, max_length: 64}}
            model: {{type: text_cnn, embedding_dim: 8, filters: 4}}
            train: {{epochs: 2, batch_size: 16, verbose: 0}}
            """
        )
    )
    run_dir = tmp_path / "run"
    result = run_cli("run", str(recipe), "-o", str(run_dir))
    assert result.exit_code == 0, result.output
    assert "accuracy" in json.loads((run_dir / "metrics.json").read_text())["test"]

    from toolkit.runner import open_run

    run = open_run(run_dir)
    texts = ["The build is not flimsy. Five stars.", "ünïcode wörds never seen", ""]
    expected = run.task.probabilities(run.model, texts)
    (tmp_path / "texts.txt").write_text("\n".join(texts[:2]), encoding="utf-8")
    script = SERVE_SCRIPT.replace(
        "import tensorflow as tf\n", "import tensorflow as tf\nimport tensorflow_text\n"
    )
    run_without_toolkit(
        script,
        tmp_path,
        str(run_dir / "export" / "saved_model"),
        str(tmp_path / "texts.txt"),
        str(tmp_path / "out.npz"),
    )
    served = np.load(tmp_path / "out.npz")
    np.testing.assert_allclose(served["probabilities"], expected[:2], atol=1e-5)
    metadata = __import__("tensorflow").saved_model.load(str(run_dir / "export" / "saved_model"))
    assert [x.decode() for x in metadata.metadata()["requires"].numpy()] == ["tensorflow_text"]


def test_multi_label_from_delimited_labels(tmp_path: Path):
    rows = [
        ("goals and rain", "sport|weather"),
        ("a match was won", "sport"),
        ("sunny and warm", "weather"),
    ] * 20
    frame = pd.DataFrame(rows, columns=["text", "label"])
    frame.to_csv(tmp_path / "train.csv", index=False)
    frame.head(6).to_csv(tmp_path / "test.csv", index=False)
    result = run_cli(
        "run",
        RECIPE,
        "-o",
        str(tmp_path / "run"),
        "--epochs",
        "2",
        "--set",
        "task.multi_label=true",
        "--set",
        f"data.train={tmp_path / 'train.csv'}",
        "--set",
        f"data.test={tmp_path / 'test.csv'}",
        "--set",
        "train.verbose=0",
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert set(metrics["test"]["per_class"]) == {"sport", "weather"} and "f1" in metrics["test"]


# --- bad input ----------------------------------------------------------------------------


def run_on(tmp_path: Path, train_rows: bytes, *extra: str):
    (tmp_path / "train.csv").write_bytes(train_rows)
    return run_cli(
        "train",
        RECIPE,
        "-o",
        str(tmp_path / "run"),
        "--epochs",
        "1",
        "--set",
        f"data.train={tmp_path / 'train.csv'}",
        "--set",
        "data.test=null",
        "--set",
        "train.verbose=0",
        *extra,
    )


GOOD_ROWS = b"".join(b"nice thing %d,positive\nbad thing %d,negative\n" % (i, i) for i in range(10))


def test_empty_text_names_the_row(tmp_path: Path):
    result = run_on(tmp_path, b"text,label\n" + GOOD_ROWS + b"  ,positive\n")
    assert result.exit_code == 2 and "train.csv row 21: empty text" in result.output
    skipped = run_on(
        tmp_path, b"text,label\n" + GOOD_ROWS + b"  ,positive\n", "--set", "data.on_error=skip"
    )
    assert skipped.exit_code == 0, skipped.output
    assert "row 21" in (tmp_path / "run" / "skipped.csv").read_text()


def test_bytes_that_are_not_utf8(tmp_path: Path):
    rows = b"text,label\n" + GOOD_ROWS + b"caf\xe9 au lait,positive\n"
    result = run_on(tmp_path, rows)
    assert (
        result.exit_code == 2
        and "train.csv line 22" in result.output
        and "not UTF-8" in result.output
    )
    replaced = run_on(tmp_path, rows, "--set", "data.encoding_errors=replace")
    assert replaced.exit_code == 0, replaced.output
    assert "1 rows had bytes that are not UTF-8" in (tmp_path / "run" / "log.txt").read_text()


def test_label_unseen_in_training(tmp_path: Path):
    (tmp_path / "test.csv").write_text("text,label\nok thing,neutral\n")
    result = run_on(
        tmp_path, b"text,label\n" + GOOD_ROWS, "--set", f"data.test={tmp_path / 'test.csv'}"
    )
    assert (
        result.exit_code == 2
        and "test.csv row 1: label 'neutral' never seen in training" in result.output
    )


def test_bag_backbone_with_a_sequence_tokenizer_is_refused(tmp_path: Path):
    result = run_on(tmp_path, b"text,label\n" + GOOD_ROWS, "--set", "features.output_mode=sequence")
    assert result.exit_code == 2 and "features.output_mode: multi_hot" in result.output
    assert "Traceback" not in result.output
