"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.tiny_data import TINY_RECIPE, subset_manifest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture()
def tiny_recipe(tmp_path: Path) -> Path:
    """A recipe that trains a very small model on 3 digits x 4 clips for 2 epochs."""
    labels = ["0", "1", "2"]
    train = subset_manifest("train", labels, 4, tmp_path)
    test = subset_manifest("test", labels, 2, tmp_path)
    recipe = tmp_path / "tiny.yaml"
    recipe.write_text(TINY_RECIPE.format(train=train.name, test=test.name))
    return recipe
