"""Several trained models of one recipe as a single model that averages their outputs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from toolkit import atomic


def average_models(members: list, name: str):
    """One Keras model: the members side by side on the same input, their class
    probabilities averaged. It saves, loads and exports as any other model."""
    import keras

    for index, member in enumerate(members, start=1):
        # Nested models need names of their own within the outer model.
        member.name = f"member_{index}"
    first = members[0].inputs[0]
    inputs = keras.Input(shape=first.shape[1:], dtype=first.dtype, name=first.name)
    outputs = keras.layers.Average(dtype="float32", name="probabilities")(
        [member(inputs) for member in members]
    )
    return keras.Model(inputs, outputs, name=name)


def merge_histories(member_folders: list[Path], path: Path) -> None:
    """The members' `history.csv` files as one, with a `member` column (1, 2, ...)."""
    frames = []
    for index, folder in enumerate(member_folders, start=1):
        history = Path(folder) / "history.csv"
        if history.is_file() and history.stat().st_size > 0:
            frames.append(pd.read_csv(history).assign(member=index))
    if frames:
        atomic.write_csv(pd.concat(frames, ignore_index=True), path)
