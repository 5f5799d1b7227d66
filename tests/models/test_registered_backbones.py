"""Every registered backbone through the shared component checks, at tiny sizes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.component_checks import (
    CHECKS,
    Case,
    build_registered,
    call_with_lengths,
    run_component_checks,
)
from toolkit.registry import REGISTRY

NUM_FEATURES = 12
FRAMES = 20
LENGTHS = [9, 17]  # frames per utterance of the speech batch
UNMASKED = (
    "reads whole fixed-length clips without lengths (audio classification pads or crops "
    "every clip to the window): frames past the end are not masked, so padding changes "
    "the outputs near the end"
)


def clip_features(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(2, FRAMES, NUM_FEATURES)).astype("float32")


def utterance_features() -> tuple[np.ndarray, np.ndarray]:
    """A padded batch as the feature layers give it: zeros past each utterance's frames."""
    rng = np.random.default_rng(1)
    batch = np.zeros((len(LENGTHS), max(LENGTHS), NUM_FEATURES), "float32")
    for row, length in enumerate(LENGTHS):
        batch[row, :length] = rng.normal(size=(length, NUM_FEATURES))
    return batch, np.array(LENGTHS, "int32")


def token_ids() -> np.ndarray:
    # The first text fills the batch (no padding of its own), as the longest one does.
    return np.array([[3, 4, 5, 6, 7, 8], [9, 2, 11, 0, 0, 0]], "int64")


def ngram_bag() -> tf.SparseTensor:
    bag = np.zeros((2, 16), "float32")
    bag[0, [2, 5, 9]] = 1.0
    bag[1, [1, 5]] = 1.0
    return tf.sparse.from_dense(bag)


def tagging_inputs() -> list[np.ndarray]:
    """Word ids, character ids (6 per word) and casing ids of 2 sentences of 5 tokens."""
    words = np.array([[4, 5, 6, 7, 8], [9, 3, 0, 0, 0]], "int64")
    lengths = np.array([[3, 6, 1, 4, 2], [5, 2, 0, 0, 0]])
    rng = np.random.default_rng(2)
    characters = rng.integers(2, 10, size=(2, 5, 6)).astype("int64")
    characters[np.arange(6)[None, None, :] >= lengths[..., None]] = 0
    casing = np.array([[6, 4, 4, 2, 1], [4, 5, 0, 0, 0]], "int64")
    return [words, characters, casing]


def clip_output(layer, inputs):
    frames = math.ceil(inputs.shape[1] / layer.time_stride)
    return [((inputs.shape[0], frames, layer.output_channels), "float32")]


def utterance_output(layer, inputs):
    features, lengths = inputs
    frames = layer.output_length(features.shape[1])
    return [((len(lengths), frames, layer.output_channels), "float32"), ((len(lengths),), "int32")]


def document_output(width):
    return lambda layer, inputs: [((inputs.shape[0], width(layer)), "float32")]


BACKBONES = {
    "ds_cnn": Case(
        config={"filters": 4, "num_blocks": 2, "block_strides": [1, [2, 1]]},
        derived={"num_features": NUM_FEATURES},
        inputs=clip_features,
        expected=clip_output,
        exempt={"padding": UNMASKED},
    ),
    "crnn": Case(
        config={"conv_filters": [4, 4], "rnn_units": 4, "rnn_layers": 1, "projection_units": 6},
        derived={"num_features": NUM_FEATURES},
        inputs=clip_features,
        expected=clip_output,
        exempt={"padding": UNMASKED},
    ),
    "resnet": Case(
        config={"filters": 4, "num_blocks": 2, "dilation_every": 1},
        derived={"num_features": NUM_FEATURES},
        inputs=clip_features,
        expected=clip_output,
        exempt={"padding": UNMASKED},
    ),
    "deepspeech2": Case(
        config={
            "conv_filters": [4, 4],
            "conv_kernel_sizes": [[5, 5], [3, 3]],
            "conv_strides": [[2, 2], [2, 1]],
            "rnn_units": 4,
            "rnn_layers": 2,
            "projection_units": 6,
        },
        derived={"num_features": NUM_FEATURES},
        inputs=utterance_features,
        expected=utterance_output,
        call=call_with_lengths,
    ),
    "quartznet": Case(
        config={
            "prolog_channels": 4,
            "prolog_kernel_size": 5,
            "block_channels": [4, 6],
            "block_kernel_sizes": [3, 5],
            "block_repeats": 2,
            "epilog_channels": 6,
            "epilog_kernel_size": 5,
            "final_channels": 8,
        },
        derived={"num_features": NUM_FEATURES},
        inputs=utterance_features,
        expected=utterance_output,
        call=call_with_lengths,
    ),
    "ngram_bag": Case(
        config={"embedding_dim": 4},
        derived={"vocabulary_size": 16},
        inputs=ngram_bag,
        expected=document_output(lambda layer: layer.embedding_dim),
        exempt={"padding": "reads a bag of n-grams, which has no positions to pad"},
    ),
    "text_cnn": Case(
        config={"embedding_dim": 4, "filters": 3, "kernel_sizes": [2, 3]},
        derived={"vocabulary_size": 12},
        inputs=token_ids,
        expected=document_output(lambda layer: layer.filters * len(layer.kernel_sizes)),
    ),
    "recurrent_text": Case(
        config={"embedding_dim": 4, "rnn_units": 3, "attention_units": 4},
        derived={"vocabulary_size": 12},
        inputs=token_ids,
        expected=document_output(lambda layer: 2 * layer.rnn_units),
    ),
    "bilstm_char_cnn": Case(
        config={
            "word_embedding_dim": 4,
            "character_embedding_dim": 3,
            "character_filters": 3,
            "character_kernel_size": [2, 3],
            "rnn_units": 3,
            "casing_embedding_dim": 2,
        },
        derived={
            "vocabulary_size": 10,
            "character_vocabulary_size": 10,
            "casing_vocabulary_size": 8,
        },
        inputs=tagging_inputs,
        expected=lambda layer, inputs: [((*inputs[0].shape, 2 * layer.rnn_units), "float32")],
    ),
}


@pytest.mark.parametrize("name", sorted(REGISTRY["model"]))
def test_registered_backbone_passes_the_component_checks(name: str, tmp_path: Path) -> None:
    if name not in BACKBONES:
        pytest.fail(f"registered backbone {name!r} has no case in BACKBONES: add a tiny one")
    case = BACKBONES[name]
    ran = run_component_checks(lambda: build_registered("model", name, case), case, tmp_path)
    assert ran == [check for check in CHECKS if check not in case.exempt]


def test_every_case_names_a_registered_backbone() -> None:
    assert sorted(BACKBONES) == sorted(REGISTRY["model"])
