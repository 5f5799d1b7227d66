"""A trained backbone carried into a model whose vocabularies grew (fine-tuning with
`finetune.extend_vocabulary`).

The backbone is rebuilt from its own config with the features' new sizes; every weight is
the source's, and an embedding table indexed by token id keeps its old rows and gains rows
for the new ids.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# Every sequence tokenizer here reads padding as id 0 and a token outside its vocabulary as
# id 1 (TextVectorization, StringLookup with a mask token, the subword tokenizer).
UNKNOWN_ID = 1


def grown_backbone(backbone: Any, sizes: dict[str, int]) -> Any:
    """`backbone` itself when the features' `sizes` (their `derived_sizes()`) are those it was
    built with (a bag of n-grams keeps its width); otherwise an unbuilt copy of it, built for
    those sizes, to be given the source's weights with `carry_backbone_weights`."""
    config = backbone.get_config()
    if all(config.get(name) == size for name, size in sizes.items()):
        return backbone
    return type(backbone).from_config({**config, **sizes})


def carry_backbone_weights(source: Any, backbone: Any) -> None:
    """Give the built `backbone` (from `grown_backbone`) the weights of the trained `source`:
    equal shapes whole, tables that grew along their first axis (token ids) their old rows
    and new rows as `grown_table` starts them."""
    # Two layers of one class and config make their weights in the same order; their paths
    # may differ (Keras numbers inner layers made twice, e.g. forward_lstm_1).
    for old, variable in zip(source.weights, backbone.weights, strict=True):
        value = np.asarray(old.numpy())
        if tuple(variable.shape) != value.shape:
            value = grown_table(value, tuple(variable.shape), old.path)
        variable.assign(value)


def grown_table(old: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    """`old` with rows appended up to `shape[0]`: copies of the unknown token's row. The
    model then reads a new token exactly as the source read it (as unknown), so fine-tuning
    starts from the source's predictions, and each new row moves away from there with the
    contexts its own token is seen in. Keras' random initialiser would instead start new
    tokens at near-zero vectors unlike anything the trained layers above have seen."""
    if shape[1:] != old.shape[1:] or shape[0] < old.shape[0] or old.shape[0] <= UNKNOWN_ID:
        raise ValueError(f"{name}: cannot grow a weight of shape {old.shape} into {shape}")
    new_rows = np.repeat(old[UNKNOWN_ID : UNKNOWN_ID + 1], shape[0] - old.shape[0], axis=0)
    return np.concatenate([old, new_rows], axis=0)
