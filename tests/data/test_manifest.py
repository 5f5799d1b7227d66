import json

import pandas as pd
import pytest

from toolkit.data.manifest import load_splits, read_manifest
from toolkit.errors import DataError

REQUIRED = ("audio", "label")


def data_block(**values):
    from toolkit.config import DataConfig

    block = {
        "dataset": None,
        "root": None,
        "options": {},
        "train": None,
        "valid": None,
        "test": None,
        "valid_fraction": 0.25,
        "columns": {},
        "seed": 1,
        "encoding_errors": "strict",
    }
    block.update(values)
    return DataConfig(**block)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl"])
def test_manifest_formats_with_column_mapping_and_relative_paths(tmp_path, suffix):
    rows = [{"path": f"clips/{i}.wav", "class": str(i % 2)} for i in range(4)]
    path = tmp_path / f"m{suffix}"
    if suffix == ".jsonl":
        path.write_text("\n".join(json.dumps(row) for row in rows))
    else:
        pd.DataFrame(rows).to_csv(path, sep="\t" if suffix == ".tsv" else ",", index=False)
    frame = read_manifest(path, {"audio": "path", "label": "class"}, REQUIRED, ("audio",))
    assert list(frame["audio"]) == [str(tmp_path / "clips" / f"{i}.wav") for i in range(4)]
    assert list(frame["label"]) == ["0", "1", "0", "1"]
    assert frame["source"][2] == f"m{suffix} row 3"


def test_missing_column_names_file_and_column(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("file,label\na.wav,x\n")
    with pytest.raises(DataError, match=r"m.csv: no column 'audio' .*data.columns.audio"):
        read_manifest(path, {}, REQUIRED, ("audio",))


def test_empty_and_unsupported_manifests(tmp_path):
    (tmp_path / "empty.csv").write_text("audio,label\n")
    with pytest.raises(DataError, match="empty.csv: manifest has no rows"):
        read_manifest(tmp_path / "empty.csv", {}, REQUIRED)
    (tmp_path / "m.xlsx").write_text("x")
    with pytest.raises(DataError, match="unsupported manifest type"):
        read_manifest(tmp_path / "m.xlsx", {}, REQUIRED)
    with pytest.raises(DataError, match="manifest not found"):
        read_manifest(tmp_path / "missing.csv", {}, REQUIRED)


def test_validation_split_is_seeded_and_stratified(tmp_path):
    path = tmp_path / "train.csv"
    pd.DataFrame({"audio": [f"{i}.wav" for i in range(40)], "label": ["a", "b"] * 20}).to_csv(
        path, index=False
    )
    first = load_splits(data_block(train=str(path)), REQUIRED, ("audio",), stratify="label")
    second = load_splits(data_block(train=str(path)), REQUIRED, ("audio",), stratify="label")
    assert len(first["valid"]) == 10 and len(first["train"]) == 30
    assert first["valid"]["label"].value_counts().to_dict() == {"a": 5, "b": 5}
    assert list(first["valid"]["audio"]) == list(second["valid"]["audio"])


def test_no_training_data_is_a_clear_error():
    with pytest.raises(DataError, match="data.train: no training data"):
        load_splits(data_block(), REQUIRED)


def test_jsonl_nulls_are_empty_cells_and_whole_numbers_stay_whole(tmp_path):
    manifest = tmp_path / "train.jsonl"
    manifest.write_text(
        '{"text": "a", "label": 1}\n{"text": "b", "label": null}\n{"text": null, "label": 2}\n'
    )
    frame = read_manifest(manifest, {}, ("text", "label"))
    assert frame["label"].tolist() == ["1", "", "2"]
    assert frame["text"].tolist() == ["a", "b", ""]
