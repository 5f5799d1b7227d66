"""Explicit name -> class tables for every component a recipe can name.

Entries are "module:attribute" strings so that listing or validating names does not import
TensorFlow; the class is imported only when it is built.
"""

from __future__ import annotations

import importlib
from typing import Any

from toolkit.errors import RecipeError

REGISTRY: dict[str, dict[str, str]] = {
    "task": {
        "audio_classification": "toolkit.tasks.audio_classification:AudioClassification",
        "text_classification": "toolkit.tasks.text_classification:TextClassification",
        "sequence_tagging": "toolkit.tasks.sequence_tagging:SequenceTagging",
        "speech_recognition": "toolkit.tasks.speech_recognition:SpeechRecognition",
    },
    "features": {
        "log_mel": "toolkit.audio.features:LogMelSpectrogram",
        "mfcc": "toolkit.audio.features:MFCC",
        "word": "toolkit.text.tokenizers:WordTokenizer",
        "character": "toolkit.text.tokenizers:CharacterTokenizer",
        "subword": "toolkit.text.subwords:SubwordTokenizer",
        "word_characters": "toolkit.text.token_features:WordCharacterFeatures",
    },
    "model": {
        "ds_cnn": "toolkit.models.ds_cnn:DSCNN",
        "crnn": "toolkit.models.crnn:CRNN",
        "resnet": "toolkit.models.resnet:ResNet",
        "deepspeech2": "toolkit.models.deepspeech2:DeepSpeech2",
        "quartznet": "toolkit.models.quartznet:QuartzNet",
        "ngram_bag": "toolkit.models.ngram_bag:NGramBag",
        "text_cnn": "toolkit.models.text_cnn:TextCNN",
        "recurrent_text": "toolkit.models.text_rnn:RecurrentText",
        "bilstm_char_cnn": "toolkit.models.bilstm_char_cnn:BiLSTMCharCNN",
    },
    "dataset": {
        "fsdd": "toolkit.data.preparers.fsdd:prepare",
        "speech_commands": "toolkit.data.preparers.speech_commands:prepare",
        "imdb": "toolkit.data.preparers.imdb:prepare",
        "ag_news": "toolkit.data.preparers.ag_news:prepare",
        "conll2003": "toolkit.data.preparers.conll2003:prepare",
        "an4": "toolkit.data.preparers.an4:prepare",
        "librispeech": "toolkit.data.preparers.librispeech:prepare",
        "ljspeech": "toolkit.data.preparers.ljspeech:prepare",
    },
}


def names(kind: str) -> list[str]:
    """The registered names of one kind, sorted."""
    return sorted(REGISTRY[kind])


def get(kind: str, name: str) -> Any:
    """The class (or function) registered under `name` for `kind`."""
    table = REGISTRY.get(kind)
    if table is None:
        raise RecipeError(f"unknown component kind {kind!r}; known: {', '.join(sorted(REGISTRY))}")
    target = table.get(name)
    if target is None:
        raise RecipeError(f"unknown {kind} type {name!r}; known: {', '.join(sorted(table))}")
    module_name, attribute = target.split(":")
    return getattr(importlib.import_module(module_name), attribute)


def build(kind: str, block: dict[str, Any], **derived: Any) -> Any:
    """Instantiate `{"type": name, **kwargs}`; `derived` adds sizes computed elsewhere."""
    kwargs = {key: value for key, value in block.items() if key != "type"}
    return get(kind, block["type"])(**kwargs, **derived)
