"""Text backbones: config round trip, padding, settings they refuse."""

from __future__ import annotations

import numpy as np
import pytest

from toolkit.models.ngram_bag import NGramBag
from toolkit.models.text_cnn import TextCNN
from toolkit.models.text_rnn import RecurrentText


@pytest.mark.parametrize(
    "layer",
    [
        NGramBag(100, embedding_dim=8, dropout_rate=0.1),
        TextCNN(100, embedding_dim=8, filters=4, kernel_sizes=[2, 3]),
        RecurrentText(100, embedding_dim=8, rnn_type="lstm", rnn_units=4, rnn_layers=2),
    ],
)
def test_backbone_config_round_trip(layer):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_recurrent_attention_ignores_padding():
    layer = RecurrentText(20, embedding_dim=4, rnn_units=3)
    ids = np.array([[5, 6, 7, 0, 0]])
    padded_more = np.array([[5, 6, 7, 0, 0, 0, 0, 0]])
    np.testing.assert_allclose(layer(ids).numpy(), layer(padded_more).numpy(), atol=1e-5)


@pytest.mark.parametrize(
    "build",
    [
        lambda: TextCNN(100, kernel_sizes=[]),
        lambda: RecurrentText(100, rnn_type="transformer"),
        lambda: NGramBag(0),
    ],
)
def test_bad_settings_name_the_value(build):
    with pytest.raises(ValueError):
        build()
