"""Every registered feature layer and tokenizer through the shared component checks, at tiny
sizes, and the sizes it derives for the backbone agree with what it outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.component_checks import (
    CHECKS,
    Case,
    add_longer_text,
    as_arrays,
    as_tensors,
    build_registered,
    call_with_lengths,
    pad_time_axis,
    run_component_checks,
)
from toolkit.recipes import DERIVED
from toolkit.registry import REGISTRY

SAMPLE_RATE = 8000
SAMPLES = [1500, 2400]  # samples per utterance of the waveform batch
SENTENCES = [
    "The cat sat on the mat.",
    "A dog ran to the cat!",
    "the mat was red, the dog was not",
    "Cats and dogs: 12 of them.",
] * 3
NO_WEIGHTS = "no weights: its state is the vocabulary that adapt learns, saved as a .keras asset"
CONSTANTS = "no weights: the window and filterbank are constants rebuilt from the config"
WHOLE_CLIP = (
    "without lengths, utterance normalisation takes each band's statistics over the whole "
    "clip, padding included (audio classification pads every clip to the same window); "
    "with lengths it passes (log_mel-lengths)"
)


def waveforms() -> tuple[np.ndarray, np.ndarray]:
    """A padded batch of noisy tones, zeros past each utterance's samples."""
    rng = np.random.default_rng(0)
    batch = np.zeros((len(SAMPLES), max(SAMPLES)), "float32")
    for row, count in enumerate(SAMPLES):
        time = np.arange(count) / SAMPLE_RATE
        batch[row, :count] = np.sin(2 * np.pi * (300 + 200 * row) * time) + 0.1 * rng.normal(
            size=count
        )
    return batch, np.array(SAMPLES, "int32")


def clips() -> np.ndarray:
    return waveforms()[0]


def pad_waveforms(inputs):
    """Half a second more of zeros: several more frames."""
    return pad_time_axis(inputs, extra=SAMPLE_RATE // 2)


def texts() -> np.ndarray:
    return np.array(["the cat sat", "a red dog ran to the mat !", "zebra"], dtype=object)


def tagged_tokens() -> np.ndarray:
    """Token strings padded with "" as `tokenize_sentences` gives them."""
    return np.array(
        [["The", "cat", "sat", "in", "1996", "."], ["Dogs", "RAN", "", "", "", ""]], dtype=object
    )


def adapt_on_sentences(layer) -> None:
    layer.adapt(SENTENCES)


def adapt_on_subword_sentences(layer) -> None:
    pytest.importorskip("tensorflow_text")
    pytest.importorskip("sentencepiece")
    layer.adapt(SENTENCES)


def adapt_on_tokens(layer) -> None:
    layer.adapt([sentence.split() for sentence in SENTENCES])


def frames_output(layer, inputs):
    samples = inputs[0].shape[1] if isinstance(inputs, tuple) else inputs.shape[1]
    features = ((len(SAMPLES), layer.num_frames(samples), layer.num_features), "float32")
    return [features, ((len(SAMPLES),), "int32")] if isinstance(inputs, tuple) else [features]


def ids_output(dtype):
    def expected(layer, inputs):
        counts = layer.token_counts(inputs)
        width = max(counts) if layer.max_length is None else min(max(counts), layer.max_length)
        return [((len(inputs), width), dtype)]

    return expected


def tagging_output(layer, inputs):
    return [
        (inputs.shape, "int64"),
        ((*inputs.shape, layer.max_word_length), "int64"),
        (inputs.shape, "int64"),
    ]


# (case, sizes): each size the layer derives for the backbone, with the output it describes:
# "width" (the output's last axis) or "ids" (every id of the output is below it).
FEATURES = {
    "log_mel": [
        pytest.param(
            Case(
                config={"num_mel_bins": 10, "window_ms": 32.0, "hop_ms": 16.0},
                derived={"sample_rate": SAMPLE_RATE},
                inputs=waveforms,
                expected=frames_output,
                call=call_with_lengths,
                pad=pad_waveforms,
                exempt={"weights": CONSTANTS, "gradients": CONSTANTS},
                tolerance=1e-4,
            ),
            {"num_features": (0, "width")},
            id="log_mel-lengths",
        ),
        pytest.param(
            Case(
                config={"num_mel_bins": 10, "normalization": "peak", "top_db": 60.0},
                derived={"sample_rate": SAMPLE_RATE},
                inputs=clips,
                expected=frames_output,
                pad=pad_waveforms,
                exempt={"weights": CONSTANTS, "gradients": CONSTANTS},
            ),
            {"num_features": (0, "width")},
            id="log_mel-clips-peak",
        ),
        pytest.param(
            Case(
                config={"num_mel_bins": 10, "normalization": "utterance"},
                derived={"sample_rate": SAMPLE_RATE},
                inputs=clips,
                expected=frames_output,
                pad=pad_waveforms,
                exempt={"weights": CONSTANTS, "gradients": CONSTANTS, "padding": WHOLE_CLIP},
            ),
            {"num_features": (0, "width")},
            id="log_mel-clips-utterance",
        ),
    ],
    "mfcc": [
        pytest.param(
            Case(
                config={"num_mel_bins": 12, "num_coefficients": 5, "hop_ms": 16.0},
                derived={"sample_rate": SAMPLE_RATE},
                inputs=waveforms,
                expected=frames_output,
                call=call_with_lengths,
                pad=pad_waveforms,
                exempt={"weights": CONSTANTS, "gradients": CONSTANTS},
                tolerance=1e-3,  # MFCCs are in dB: values of tens
            ),
            {"num_features": (0, "width")},
            id="mfcc-lengths",
        ),
    ],
    "word": [
        pytest.param(
            Case(
                config={"max_tokens": 20, "max_length": 12},
                inputs=texts,
                expected=ids_output("int64"),
                prepare=adapt_on_sentences,
                pad=add_longer_text,
                exempt={"weights": NO_WEIGHTS, "gradients": NO_WEIGHTS},
            ),
            {"vocabulary_size": (0, "ids")},
            id="word-sequence",
        ),
        pytest.param(
            Case(
                config={"max_tokens": 24, "output_mode": "multi_hot", "ngrams": 2},
                inputs=texts,
                expected=lambda layer, inputs: [((len(inputs), 24), "int64")],  # sparse
                prepare=adapt_on_sentences,
                pad=add_longer_text,
                exempt={"weights": NO_WEIGHTS, "gradients": NO_WEIGHTS},
            ),
            {"vocabulary_size": (0, "width")},
            id="word-multi_hot",
        ),
    ],
    "character": [
        pytest.param(
            Case(
                config={"max_tokens": 30, "max_length": 40},
                inputs=texts,
                expected=ids_output("int64"),
                prepare=adapt_on_sentences,
                pad=add_longer_text,
                exempt={"weights": NO_WEIGHTS, "gradients": NO_WEIGHTS},
            ),
            {"vocabulary_size": (0, "ids")},
            id="character",
        ),
    ],
    "subword": [
        pytest.param(
            Case(
                config={"max_tokens": 30, "max_length": 20},
                inputs=texts,
                expected=ids_output("int32"),
                prepare=adapt_on_subword_sentences,
                pad=add_longer_text,
                exempt={"weights": NO_WEIGHTS, "gradients": NO_WEIGHTS},
            ),
            {"vocabulary_size": (0, "ids")},
            id="subword",
        ),
    ],
    "word_characters": [
        pytest.param(
            Case(
                config={
                    "max_words": 12,
                    "min_word_count": 1,
                    "max_characters": 20,
                    "max_word_length": 4,
                },
                inputs=tagged_tokens,
                expected=tagging_output,
                prepare=adapt_on_tokens,
                exempt={"weights": NO_WEIGHTS, "gradients": NO_WEIGHTS},
            ),
            {
                "vocabulary_size": (0, "ids"),
                "character_vocabulary_size": (1, "ids"),
                "casing_vocabulary_size": (2, "ids"),
            },
            id="word_characters",
        ),
    ],
}
CASES = [
    pytest.param(name, *param.values, id=param.id)
    for name, params in FEATURES.items()
    for param in params
]


@pytest.mark.parametrize("name", sorted(REGISTRY["features"]))
def test_every_registered_feature_layer_has_a_case(name: str) -> None:
    assert FEATURES.get(name), f"registered features {name!r} has no case in FEATURES: add one"


def test_every_case_names_registered_features() -> None:
    assert set(FEATURES) <= set(REGISTRY["features"])


@pytest.mark.parametrize(("name", "case", "sizes"), CASES)
def test_registered_features_pass_the_component_checks(
    name: str, case: Case, sizes: dict, tmp_path: Path
) -> None:
    ran = run_component_checks(lambda: build_registered("features", name, case), case, tmp_path)
    assert ran == [check for check in CHECKS if check not in case.exempt]


@pytest.mark.parametrize(("name", "case", "sizes"), CASES)
def test_derived_sizes_describe_the_outputs(name: str, case: Case, sizes: dict) -> None:
    layer = build_registered("features", name, case)
    if case.prepare is not None:
        case.prepare(layer)
    derived = layer.derived_sizes()
    assert set(derived) == set(sizes) and set(derived) <= DERIVED["model"]
    sample = case.inputs()
    outputs = as_arrays(case.call(layer, as_tensors(sample)))
    for key, (index, kind) in sizes.items():
        if kind == "width":
            assert outputs[index].shape[-1] == derived[key], key
        else:
            assert 0 <= outputs[index].min() and outputs[index].max() < derived[key], key
