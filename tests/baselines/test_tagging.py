import keras
import numpy as np
import pycrfsuite
import pytest
import tensorflow as tf

from toolkit.baselines import tagging

SENTENCES = [
    (["Alice", "flew", "to", "Paris", "."], ["B-PER", "O", "O", "B-LOC", "O"]),
    (
        ["Bob", "Smith", "lives", "in", "New", "York"],
        ["B-PER", "I-PER", "O", "O", "B-LOC", "I-LOC"],
    ),
    (["The", "U.S.", "won", "in", "1996"], ["O", "B-LOC", "O", "O", "O"]),
    (["Carol", "visited", "Rome"], ["B-PER", "O", "B-LOC"]),
    (["Paris", "is", "big"], ["B-LOC", "O", "O"]),
]
TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def test_token_attributes_describe_each_word_and_its_neighbours():
    tokens = tf.constant([["The", "U.S.", "won"], ["Élan", "", ""]])
    attributes = np.vectorize(lambda value: value.decode("utf-8"))(
        tagging.token_attributes(tokens).numpy()
    )
    assert list(attributes[0, 1]) == [
        "bias",
        "w=u.s.",
        "p=the",
        "n=won",
        "pw=the|u.s.",
        "s3=.s.",
        "s2=s.",
        "p3=u.s",
        "shape=X.X.",
        "ps=Xx",
        "ns=x",
    ]
    # Unicode lower-casing, and padding that is no neighbour.
    assert attributes[1, 0, 1] == "w=élan" and attributes[1, 0, 3] == "n=</s>"
    assert attributes[1, 0, 2] == "p=<s>"
    assert tagging.word_shape(tf.constant(["1996-08-22", "McDonald"])).numpy().tolist() == [
        b"d-d-d",
        b"XxXx",
    ]


def test_the_keras_baseline_tags_as_crfsuite_does(tmp_path):
    sentences = [tokens for tokens, _ in SENTENCES]
    tags = [labels for _, labels in SENTENCES]
    model = tagging.fit_tagging_baseline(sentences=sentences, tags=tags, tag_names=TAGS)

    trainer = pycrfsuite.Trainer(verbose=False)
    for attributes, sequence in zip(tagging.attribute_lists(sentences), tags, strict=True):
        trainer.append(attributes, sequence)
    trainer.set_params(tagging.TRAINER_SETTINGS)
    trainer.train(str(tmp_path / "reference.crf"))
    reference = pycrfsuite.Tagger()
    reference.open(str(tmp_path / "reference.crf"))

    unseen = [["Dave", "flew", "to", "Rome", "."], ["Paris", "won"], ["in", "New", "York"]]
    padded = tf.ragged.constant(unseen).to_tensor(default_value="")
    lengths = tf.constant([len(tokens) for tokens in unseen])

    def tag_with(keras_model):
        ids, _ = keras_model.get_layer("crf").decode(keras_model(padded), lengths)
        return [
            [TAGS[i] for i in row[:n]] for row, n in zip(ids.numpy(), lengths.numpy(), strict=True)
        ]

    expected = [reference.tag(attributes) for attributes in tagging.attribute_lists(unseen)]
    assert tag_with(model) == expected
    assert expected[0][0] == "B-PER" and expected[0][3] == "B-LOC"

    model.save(tmp_path / "baseline.keras")
    assert tag_with(keras.saving.load_model(tmp_path / "baseline.keras")) == expected


def test_word_feature_scores_config_round_trips_and_checks_sizes():
    layer = tagging.WordFeatureScores(3, 10, name="scores")
    rebuilt = tagging.WordFeatureScores.from_config(layer.get_config())
    assert rebuilt.get_config() == layer.get_config()
    with pytest.raises(ValueError, match="num_tags"):
        tagging.WordFeatureScores(0, 10)


def test_unknown_attributes_add_nothing():
    layer = tagging.WordFeatureScores(2, 1)
    layer.build((None, None))
    layer.set_attributes(["w=yes"], np.array([[1.0, -1.0]], dtype=np.float32))
    scores = layer(tf.constant([["yes", "no"]])).numpy()
    np.testing.assert_allclose(scores[0], [[1.0, -1.0], [0.0, 0.0]])
