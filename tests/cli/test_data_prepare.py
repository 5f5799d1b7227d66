"""`toolkit data prepare` on every registered dataset, laid out as the real one is."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from tests.dataset_layouts import LAYOUTS
from toolkit.cli import main
from toolkit.registry import REGISTRY


def prepare(name: str, folder: Path) -> tuple[list[str], Path]:
    """Run the command on `name`'s layout; returns its output lines and the manifest folder."""
    root = LAYOUTS[name](folder / "download")
    output = folder / "manifests"
    result = CliRunner().invoke(
        main, ["data", "prepare", name, "--root", str(root), "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines(), output


def test_every_layout_is_a_registered_dataset() -> None:
    assert set(LAYOUTS) <= set(REGISTRY["dataset"])


@pytest.mark.parametrize("name", sorted(REGISTRY["dataset"]))
def test_every_dataset_prepares_from_the_command_line(name: str, tmp_path: Path) -> None:
    assert name in LAYOUTS, f"add a tiny copy of {name}'s layout to tests/dataset_layouts.py"
    lines, output = prepare(name, tmp_path)
    written = {path.stem for path in output.glob("*.csv")}
    assert {"train", "test"} <= written and len(lines) == len(written)
    for line in lines:
        split, summary = line.split(": ", 1)
        manifest = output / f"{split}.csv"
        frame = pd.read_csv(manifest, keep_default_na=False)
        if "audio" in frame:
            counts = r"utterances?(, \d+ labels?)?"
            assert all(Path(path).is_absolute() and Path(path).is_file() for path in frame["audio"])
        elif "tags" in frame:
            counts = r"sentences?, \d+ tags?"
            for tokens, tags in zip(frame["tokens"], frame["tags"], strict=True):
                assert len(json.loads(tokens)) == len(json.loads(tags)) > 0
        else:
            counts = r"texts?, \d+ labels?"
        assert len(frame) > 0
        assert re.fullmatch(rf"{len(frame)} {counts} -> {re.escape(str(manifest))}", summary), line


def test_summaries_count_what_each_kind_of_data_holds(tmp_path: Path) -> None:
    lines, output = prepare("imdb", tmp_path / "imdb")
    assert lines == [
        f"train: 3 texts, 2 labels -> {output / 'train.csv'}",
        f"test: 2 texts, 2 labels -> {output / 'test.csv'}",
    ]
    lines, output = prepare("conll2003", tmp_path / "conll2003")
    assert lines[0] == f"train: 2 sentences, 4 tags -> {output / 'train.csv'}"
    assert lines[1] == f"valid: 1 sentence, 1 tag -> {output / 'valid.csv'}"
    train = pd.read_csv(output / "train.csv")
    assert json.loads(train["tokens"][1]) == ["Peter", "Blackburn"]
    assert json.loads(train["tags"][1]) == ["B-PER", "I-PER"]
    lines, _ = prepare("fsdd", tmp_path / "fsdd")
    assert lines[0].startswith("train: 18 utterances, 3 labels -> ")
    lines, _ = prepare("ljspeech", tmp_path / "ljspeech")
    assert lines[0].startswith("train: 18 utterances -> ")
