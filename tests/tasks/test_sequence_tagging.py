"""Sequence tagging end to end on assets/text_entities, spans, schemes and bad input."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from click.testing import CliRunner

from tests.tiny_data import REPO, run_without_toolkit
from toolkit.cli import main
from toolkit.text.readers import read_conll, write_conll
from toolkit.text.spans import detect_scheme, entity_spans, from_bioes, to_bioes

ASSETS = REPO / "assets" / "text_entities"
RECIPE = "sequence_tagging/tiny_entities"
SMALL = [
    "--set",
    "model.rnn_units=16",
    "--set",
    "model.word_embedding_dim=16",
    "--set",
    "train.verbose=0",
]

SERVE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf
    assert "toolkit" not in sys.modules
    model = tf.saved_model.load(sys.argv[1])
    sentences = json.load(open(sys.argv[2]))
    out = model.signatures["serving_default"](sentences=tf.constant(sentences))
    tokens = model.signatures["tokens"](tokens=out["tokens"])
    result = {key: value.numpy().tolist() for key, value in out.items()}
    result = {key: [[x.decode() if isinstance(x, bytes) else x for x in row] if isinstance(row, list) else row for row in value] for key, value in result.items()}
    result["same_from_tokens"] = bool(tf.reduce_all(tokens["tags"] == out["tags"]))
    json.dump(result, open(sys.argv[3], "w"))
    assert "toolkit" not in sys.modules
    """
)


def run_cli(*arguments: str):
    return CliRunner().invoke(main, list(arguments))


def small_split(folder: Path, name: str, sentences: int) -> Path:
    frame = read_conll(ASSETS / f"{name}.conll").head(sentences)
    return write_conll(frame, folder / f"{name}.conll")


@pytest.fixture(scope="module", params=["data", "bioes"])
def trained_run(tmp_path_factory, request) -> Path:
    """Trained on the data's IOB2 tags, and on the same tags learnt as BIOES (the latter also
    with a casing embedding and two character convolution widths, so exports cover them)."""
    folder = tmp_path_factory.mktemp(f"tagging_{request.param}")
    train, valid, test = (
        small_split(folder, name, n) for name, n in (("train", 120), ("valid", 20), ("test", 20))
    )
    run_dir = folder / "run"
    result = run_cli(
        "run",
        RECIPE,
        "-o",
        str(run_dir),
        "--epochs",
        "3",
        *SMALL,
        "--set",
        f"data.train={train}",
        "--set",
        f"data.valid={valid}",
        "--set",
        f"data.test={test}",
        "--set",
        f"task.training_scheme={request.param}",
        *(
            ["--set", "model.casing_embedding_dim=4", "--set", "model.character_kernel_size=[2,3]"]
            if request.param == "bioes"
            else []
        ),
    )
    assert result.exit_code == 0, result.output
    return run_dir


def test_run_writes_span_metrics_and_errors(trained_run: Path):
    metrics = json.loads((trained_run / "metrics.json").read_text())
    test = metrics["test"]
    assert 0.0 <= test["f1"] <= 1.0 and {"precision", "recall", "token_accuracy"} <= set(test)
    assert set(test["per_type"]) <= {"PER", "LOC", "ORG"}
    assert "val_f1" in pd.read_csv(trained_run / "history.csv").columns
    assert (trained_run / "errors_test.csv").exists()
    assert "iob2" in (trained_run / "recipe.resolved.yaml").read_text()
    # Predictions come back in the data's scheme whatever the model learnt.
    predicted = pd.read_csv(trained_run / "errors_test.csv")["predicted"]
    assert not any(tag[:2] in ("E-", "S-") for row in predicted for tag in row.split())
    if "training_scheme: bioes" in (trained_run / "recipe.resolved.yaml").read_text():
        assert "learnt as 13 BIOES tags" in (trained_run / "data_summary.txt").read_text()


def test_saved_model_matches_python_in_a_process_without_toolkit(trained_run: Path, tmp_path: Path):
    from toolkit.runner import open_run

    run = open_run(trained_run)
    sentences = [
        "Officials from Bank of Tormar met Hita Suvel .",
        "Renren Tor arrived in Lagos on Monday.",
    ]
    expected = run.task.predict(
        model=run.model, inputs=sentences, names=sentences, top_k=1, batch_size=64
    )
    (tmp_path / "in.json").write_text(json.dumps(sentences))
    run_without_toolkit(
        SERVE_SCRIPT,
        tmp_path,
        str(trained_run / "export" / "saved_model"),
        str(tmp_path / "in.json"),
        str(tmp_path / "out.json"),
    )
    served = json.loads((tmp_path / "out.json").read_text())
    assert served["same_from_tokens"]
    for i, row in expected.iterrows():
        n = served["lengths"][i]
        assert " ".join(served["tokens"][i][:n]) == row["tokens"]
        assert " ".join(served["tags"][i][:n]) == row["tags"]
        entities = [
            f"{k}: {t}"
            for t, k in zip(served["entity_text"][i], served["entity_type"][i], strict=True)
            if k
        ]
        assert "; ".join(entities) == row["entities"]
    assert (
        served["tokens"][1][:9]
        == ["Renren", "Tor", "arrived", "in", "Lagos", "on", "Monday", ".", ""][
            : len(served["tokens"][1][:9])
        ]
    )


def test_predict_from_run_and_saved_model_agree(trained_run: Path, tmp_path: Path):
    first = run_cli(
        "predict",
        str(trained_run),
        "Officials from Bank of Tormar met Hita Suvel .",
        "-o",
        str(tmp_path / "a.csv"),
    )
    second = run_cli(
        "predict",
        str(trained_run / "export" / "saved_model"),
        "Officials from Bank of Tormar met Hita Suvel .",
        "-o",
        str(tmp_path / "b.csv"),
    )
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    a, b = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")
    assert list(a["tags"]) == list(b["tags"]) and list(a["entities"].fillna("")) == list(
        b["entities"].fillna("")
    )


def test_softmax_output_and_plain_tags_from_conllu(tmp_path: Path):
    lines = []
    for i in range(30):
        lines += [
            f"# sent_id = {i}",
            "1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_",
            "2-3\tdog's\t_\t_\t_\t_\t_\t_\t_\t_",
            "2\tdog\tdog\tNOUN\tNN\t_\t0\troot\t_\t_",
            "3\t's\t's\tPART\tPOS\t_\t2\tcase\t_\t_",
            "4\truns\trun\tVERB\tVBZ\t_\t2\tdep\t_\t_",
            "",
        ]
    (tmp_path / "train.conllu").write_text("\n".join(lines) + "\n")
    result = run_cli(
        "run",
        RECIPE,
        "-o",
        str(tmp_path / "run"),
        "--epochs",
        "2",
        *SMALL,
        "--set",
        f"data.train={tmp_path / 'train.conllu'}",
        "--set",
        "data.valid=null",
        "--set",
        "data.test=null",
        "--set",
        "task.output_layer=softmax",
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert "token_accuracy" in metrics["valid"] and "per_type" not in metrics["valid"]
    assert "tag_scheme: none" in (tmp_path / "run" / "recipe.resolved.yaml").read_text()


def test_spans_for_each_scheme():
    tokens = [["Peter", "Blackburn", "visited", "EU", "Brussels", "."]]
    cases = {
        "iob2": ["B-PER", "I-PER", "O", "B-ORG", "B-LOC", "O"],
        "iob1": ["I-PER", "I-PER", "O", "I-ORG", "I-LOC", "O"],
        "bioes": ["B-PER", "E-PER", "O", "S-ORG", "S-LOC", "O"],
    }
    for scheme, tags in cases.items():
        spans = entity_spans(tf.constant(tokens), tf.constant([tags]), scheme)
        assert [x.decode() for x in spans["entity_text"][0].numpy()] == [
            "Peter Blackburn",
            "EU",
            "Brussels",
        ], scheme
        assert [x.decode() for x in spans["entity_type"][0].numpy()] == ["PER", "ORG", "LOC"]
        np.testing.assert_array_equal(spans["entity_start"][0], [0, 3, 4])
        np.testing.assert_array_equal(spans["entity_end"][0], [2, 4, 5])
    # Two adjacent entities of one type: IOB2 separates them with B-.
    two = entity_spans(tf.constant([["A", "B"]]), tf.constant([["B-PER", "B-PER"]]), "iob2")
    assert two["entity_text"].shape == (1, 2)


def test_scheme_detection():
    assert detect_scheme([["B-PER", "I-PER", "O"]]) == "iob2"
    assert detect_scheme([["I-PER", "O", "I-LOC"]]) == "iob1"
    assert detect_scheme([["S-PER", "O"]]) == "bioes"
    assert detect_scheme([["NN", "VBZ"]]) == "none"


# --- bad input ----------------------------------------------------------------------------


def train_on(tmp_path: Path, *extra: str):
    return run_cli("train", RECIPE, "-o", str(tmp_path / "run"), "--epochs", "1", *SMALL, *extra)


def test_conll_line_with_wrong_column_count_names_file_and_line(tmp_path: Path):
    (tmp_path / "bad.conll").write_text("EU B-ORG\nrejects O\nGerman B-MISC extra\n\n")
    result = train_on(tmp_path, "--set", f"data.train={tmp_path / 'bad.conll'}")
    assert result.exit_code == 2 and "bad.conll" in result.output and "line 3" in result.output
    assert "Traceback" not in result.output


def test_tag_unseen_in_training(tmp_path: Path):
    (tmp_path / "test.conll").write_text("Paris B-CITY\n\n")
    result = train_on(tmp_path, "--set", f"data.test={tmp_path / 'test.conll'}")
    assert result.exit_code == 2 and "tag 'B-CITY' never seen in training" in result.output


def test_manifest_with_uneven_tokens_and_tags(tmp_path: Path):
    rows = [{"tokens": ["Anna", "sings"], "tags": ["B-PER", "O"]}] * 10 + [
        {"tokens": ["Bob"], "tags": ["B-PER", "O"]}
    ]
    (tmp_path / "train.jsonl").write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    result = train_on(
        tmp_path,
        "--set",
        f"data.train={tmp_path / 'train.jsonl'}",
        "--set",
        "data.valid=null",
        "--set",
        "data.test=null",
    )
    assert (
        result.exit_code == 2
        and "train.jsonl row 11: different numbers of tokens and tags" in result.output
    )


def test_word_vectors_initialise_embeddings(tmp_path: Path):
    from toolkit.text.vectors import read_word_vectors

    rows = [
        "3 16",
        "officials " + " ".join(["0.5"] * 16),
        "Met " + " ".join(["0.25"] * 16),
        "zebra " + " ".join(["1"] * 16),
    ]
    (tmp_path / "vectors.txt").write_text("\n".join(rows) + "\n")
    vectors, found = read_word_vectors(
        tmp_path / "vectors.txt", ["", "[UNK]", "officials", "met", "arrived"], 16
    )
    assert list(found) == [False, False, True, True, False]
    assert vectors[2, 0] == 0.5 and vectors[3, 0] == 0.25
    result = train_on(tmp_path, "--set", f"task.word_vectors_file={tmp_path / 'vectors.txt'}")
    assert result.exit_code == 0, result.output
    assert "vocabulary words found in" in (tmp_path / "run" / "log.txt").read_text()
    wrong = run_cli(
        "train",
        RECIPE,
        "-o",
        str(tmp_path / "run2"),
        "--epochs",
        "1",
        "--set",
        "train.verbose=0",
        "--set",
        f"task.word_vectors_file={tmp_path / 'vectors.txt'}",
    )
    assert wrong.exit_code == 2 and "vectors.txt line 2: 16 numbers" in wrong.output


def test_bioes_conversion_round_trips_iob1_and_iob2():
    iob2 = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "I-LOC", "O", "B-ORG"]
    iob1 = ["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-LOC", "I-LOC", "O", "I-ORG"]
    bioes = ["B-PER", "E-PER", "O", "S-LOC", "B-LOC", "I-LOC", "E-LOC", "O", "S-ORG"]
    assert to_bioes(iob2) == bioes and to_bioes(iob1) == bioes
    for scheme, expected in (("iob2", iob2), ("iob1", iob1)):
        back = from_bioes(tf.constant([bioes + [""]]), scheme).numpy()[0]
        assert [tag.decode() for tag in back] == [*expected, ""]


def test_character_convolutions_of_several_widths():
    from toolkit.models.bilstm_char_cnn import BiLSTMCharCNN

    backbone = BiLSTMCharCNN(
        30, 12, character_filters=4, character_kernel_size=[2, 3], rnn_units=3, name="tagger"
    )
    word_ids = np.array([[3, 4, 0]], "int64")
    character_ids = np.array([[[2, 3, 0, 0], [5, 0, 0, 0], [0, 0, 0, 0]]], "int64")
    hidden = backbone([word_ids, character_ids])
    assert hidden.shape == (1, 3, 6)
    assert [c.kernel.shape[0] for c in backbone.character_convolutions] == [2, 3]
    # LSTM input: 100 word dims + 4 filters for each of the two widths.
    assert backbone.recurrent[0].forward_layer.cell.kernel.shape[0] == 100 + 8
    config = json.loads(json.dumps(backbone.get_config()))
    assert BiLSTMCharCNN.from_config(config).get_config() == backbone.get_config()
    for bad in ([], [3, 3], [0]):
        with pytest.raises(ValueError, match="character_kernel_size"):
            BiLSTMCharCNN(30, 12, character_kernel_size=bad)


def test_casing_classes_and_casing_embedding():
    from toolkit.models.bilstm_char_cnn import BiLSTMCharCNN
    from toolkit.text.token_features import CASINGS, token_casing

    tokens = tf.constant(
        [["1996", "1996-08-22", "house", "EU", "Brussels", "Ärger", "x4ab", "-", ""]]
    )
    expected = ["numeric", "mainly_numeric", "lower", "upper", "initial_upper", "initial_upper"]
    expected += ["contains_digit", "other", "padding"]
    assert [CASINGS[i] for i in token_casing(tokens).numpy()[0]] == expected

    inputs = [np.array([[3, 4]], "int64"), np.ones((1, 2, 5), "int64"), np.array([[4, 6]], "int64")]
    with_casing = BiLSTMCharCNN(30, 12, casing_embedding_dim=6, rnn_units=3)
    assert with_casing(inputs).shape == (1, 2, 6)
    # LSTM input: 100 word dims + 50 character filters + 6 casing dims.
    assert with_casing.recurrent[0].forward_layer.cell.kernel.shape[0] == 156
    without = BiLSTMCharCNN(30, 12, rnn_units=3)
    assert without(inputs).shape == (1, 2, 6)
    assert without.casing_embedding is None
    config = json.loads(json.dumps(with_casing.get_config()))
    assert BiLSTMCharCNN.from_config(config).get_config() == with_casing.get_config()
    with pytest.raises(ValueError, match="casing_embedding_dim"):
        BiLSTMCharCNN(30, 12, casing_embedding_dim=-1)


def test_extended_token_features_grow_the_embeddings_with_the_old_rows_kept():
    from toolkit.models.bilstm_char_cnn import BiLSTMCharCNN
    from toolkit.tasks.embeddings import UNKNOWN_ID, carry_backbone_weights, grown_backbone
    from toolkit.tasks.sequence_tagging import SequenceTagging
    from toolkit.text.token_features import WordCharacterFeatures

    features = WordCharacterFeatures(min_word_count=2)
    features.adapt([["EU", "rejects", "call"]] * 2)
    task = SequenceTagging(tags=["O", "B-ORG"], tag_scheme="iob2")
    source = BiLSTMCharCNN(
        **features.derived_sizes(),
        word_embedding_dim=4,
        character_embedding_dim=3,
        character_filters=2,
        rnn_units=2,
    )
    task.build_model(features=features, backbone=source, augment=None)
    words, characters = features.vocabulary_size(), features.character_vocabulary_size()
    # "zorp" is seen twice (min_word_count), "blip" once: only zorp joins the words.
    train = pd.DataFrame({"tokens": [["Zorp", "rejects", "zorp", "blip"]], "tags": [["O"] * 4]})
    grown = task.extend_vocabulary(features=features, train=train)
    assert grown == {
        "words": (1, words + 1),
        "characters": (6, characters + 6),  # Z, o, p, b, i and the lower-case z
    }
    backbone = grown_backbone(source, features.derived_sizes())
    model = task.build_model(features=features, backbone=backbone, augment=None)
    carry_backbone_weights(source, backbone)
    for name, old_size, added in (
        ("word_embedding", words, 1),
        ("character_embedding", characters, 6),
    ):
        old = getattr(source, name).embeddings.numpy()
        new = getattr(backbone, name).embeddings.numpy()
        np.testing.assert_array_equal(new[:old_size], old)
        # New rows start as the unknown token's: read as the source read them.
        np.testing.assert_array_equal(new[old_size:], np.repeat(old[[UNKNOWN_ID]], added, 0))
    for old, new in zip(source.weights[2:], backbone.weights[2:], strict=True):
        if old.shape == new.shape:
            np.testing.assert_array_equal(new.numpy(), old.numpy())
    word_ids, _, _ = features(tf.constant([["zorp", "blip"]]))
    assert list(word_ids.numpy()[0]) == [words, UNKNOWN_ID]
    assert model.get_layer(backbone.name) is backbone
