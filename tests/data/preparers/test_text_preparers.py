"""Text dataset preparers on tiny copies of the real layouts, downloads served offline."""

from __future__ import annotations

import io
import json
import tarfile
import urllib.request
from pathlib import Path

import pytest

from tests.dataset_layouts import (
    AG_CLASSES,
    AG_TEST,
    AG_TRAIN,
    imdb_files,
    make_ag_news,
    make_conll2003,
    make_imdb,
)
from toolkit.data.preparers import ag_news, conll2003, imdb
from toolkit.data.preparers import archive as archive_module
from toolkit.errors import DataError


def tar_gz(files: dict[str, bytes], path: Path) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            entry = tarfile.TarInfo(name)
            entry.size = len(data)
            tar.addfile(entry, io.BytesIO(data))
    return path


def serve(monkeypatch: pytest.MonkeyPatch, archive: Path) -> list[str]:
    """Answer every URL with the local archive; returns the URLs asked for."""
    requested: list[str] = []

    def fake_urlopen(url: str, timeout: float | None = None) -> io.BufferedReader:
        requested.append(url)
        return open(archive, "rb")  # the caller closes it, as it would a response

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    # The stand-in archives are not the published ones: no digest to check them against.
    unpacked_download = archive_module.unpacked_download
    monkeypatch.setattr(
        archive_module,
        "unpacked_download",
        lambda url, root, sha256=None: unpacked_download(url, root),
    )
    return requested


# --- IMDb -----------------------------------------------------------------------------------


def test_imdb_review_tree(tmp_path: Path) -> None:
    root = make_imdb(tmp_path / "imdb")
    for given in (root, root / "aclImdb"):
        splits = imdb.prepare(given)
        assert set(splits) == {"train", "test"}
        train, test = splits["train"], splits["test"]
        assert list(train.columns) == ["text", "label", "source"]
        # Reviews are numbered: 2 comes before 10; train/unsup is not read.
        assert train["source"].tolist() == [
            "train/pos/2_7.txt",
            "train/pos/10_9.txt",
            "train/neg/0_3.txt",
        ]
        assert train["label"].tolist() == ["pos", "pos", "neg"]
        assert train["text"][1] == "A gem.<br /><br />Loved it."
        assert test["text"].tolist() == ["Best film this year — süper.", "Awful."]
        assert test["label"].tolist() == ["pos", "neg"]


def test_imdb_jsonl_layout(tmp_path: Path) -> None:
    root = tmp_path / "imdb"
    root.mkdir()
    rows = [
        {"id": 0, "rating": 3, "label": "neg", "text": "Dull.", "orig_file": "train/neg/0_3.txt"},
        {"id": 1, "rating": 9, "label": "pos", "text": "Great."},
    ]
    (root / "train.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    (root / "test.jsonl").write_text(
        '{"text": "Fine.", "label": 1}\n\n{"text": "Bad.", "label": 0}\n'
    )
    splits = imdb.prepare(root)
    assert splits["train"].to_dict("list") == {
        "text": ["Dull.", "Great."],
        "label": ["neg", "pos"],
        "source": ["train.jsonl row 1", "train.jsonl row 2"],
    }
    assert splits["test"]["label"].tolist() == ["pos", "neg"]

    (root / "test.jsonl").write_text('{"text": "Meh.", "label": "neutral"}\n')
    with pytest.raises(DataError, match=r"test\.jsonl: line 1: label 'neutral'"):
        imdb.prepare(root)
    (root / "test.jsonl").write_text('{"text": "Meh."\n')
    with pytest.raises(DataError, match=r"test\.jsonl: line 1: not JSON"):
        imdb.prepare(root)


def test_imdb_missing_folders(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nowhere: folder does not exist"):
        imdb.prepare(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty: no aclImdb/ folder"):
        imdb.prepare(tmp_path / "empty")
    root = make_imdb(tmp_path / "imdb")
    for review in (root / "aclImdb" / "test" / "neg").iterdir():
        review.unlink()
    (root / "aclImdb" / "test" / "neg").rmdir()
    with pytest.raises(DataError, match=r"aclImdb/test/neg: folder does not exist") as caught:
        imdb.prepare(root)
    assert "\n" not in str(caught.value)


def test_imdb_download_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    requested = serve(monkeypatch, tar_gz(imdb_files(), tmp_path / "aclImdb_v1.tar.gz"))
    root = tmp_path / "data" / "imdb"
    assert imdb.download(root) == root.absolute()
    assert requested == [imdb.URL]
    assert [p.name for p in root.iterdir()] == ["aclImdb"]
    assert len(imdb.prepare(root)["train"]) == 3
    imdb.download(root)
    assert requested == [imdb.URL], "a second download must be skipped"


def test_imdb_download_of_a_wrong_archive_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve(monkeypatch, tar_gz({"other/README": b"x"}, tmp_path / "other.tar.gz"))
    root = tmp_path / "imdb"
    with pytest.raises(DataError, match=r"aclImdb_v1\.tar\.gz: the archive has no aclImdb/"):
        imdb.download(root)
    assert list(root.iterdir()) == []


# --- AG News --------------------------------------------------------------------------------


def test_ag_news_text_labels_and_sources(tmp_path: Path) -> None:
    root = make_ag_news(tmp_path / "ag_news")
    splits = ag_news.prepare(root)
    assert set(splits) == {"train", "test"}
    train = splits["train"]
    assert list(train.columns) == ["text", "label", "source"]
    assert train["text"].tolist() == [
        "Wall St. Bears Claw Back Into the Black (Reuters). Reuters - Short-sellers, "
        "Wall Street's dwindling band of ultra-cynics, are seeing green again.",
        'Trade Gap. The deficit hit $55.8bn as "oil" costs rose.',
        "Phelps Wins. ATHENS Michael Phelps won, again.",
        "Talks. Leaders met on nuclear arms.",
    ]
    assert train["label"].tolist() == ["Business", "Sci/Tech", "Sports", "World"]
    assert train["source"].tolist() == [f"train.csv row {n}" for n in range(1, 5)]
    assert splits["test"]["label"].tolist() == ["World", "Sports"]


def test_ag_news_layouts_and_classes(tmp_path: Path) -> None:
    make_ag_news(tmp_path / "parent" / "ag_news_csv", classes=False)
    splits = ag_news.prepare(tmp_path / "parent")  # the folder holding ag_news_csv/
    assert splits["train"]["label"].tolist() == ["Business", "Sci/Tech", "Sports", "World"]
    own = make_ag_news(tmp_path / "own")
    (own / "classes.txt").write_text("world\nsport\nmoney\ntech\n")
    assert ag_news.prepare(own)["test"]["label"].tolist() == ["world", "sport"]


def test_ag_news_bad_rows_and_missing_files(tmp_path: Path) -> None:
    root = make_ag_news(tmp_path / "ag_news")
    with pytest.raises(DataError, match=r"nowhere: folder does not exist"):
        ag_news.prepare(tmp_path / "nowhere")
    with pytest.raises(DataError, match=r"ag_news: no train\.csv"):
        (root / "train.csv").rename(root / "train.bak")
        ag_news.prepare(root)
    (root / "train.bak").rename(root / "train.csv")
    (root / "test.csv").unlink()
    with pytest.raises(DataError, match=r"test\.csv: file not found"):
        ag_news.prepare(root)
    (root / "test.csv").write_text('"1","Title only"\n')
    with pytest.raises(DataError, match=r"test\.csv: row 1: 2 fields, expected 3"):
        ag_news.prepare(root)
    (root / "test.csv").write_text('"1","a","b"\n"5","c","d"\n')
    with pytest.raises(
        DataError, match=r"test\.csv: row 2: class index '5' is not between 1 and 4"
    ):
        ag_news.prepare(root)
    (root / "test.csv").write_bytes(b'"1","Caf\xe9","b"\n')
    with pytest.raises(DataError, match=r"test\.csv: not UTF-8"):
        ag_news.prepare(root)


def test_ag_news_download_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "ag_news_csv/classes.txt": AG_CLASSES.encode(),
        "ag_news_csv/readme.txt": b"AG's News Topic Classification Dataset\n",
        "ag_news_csv/train.csv": AG_TRAIN.encode(),
        "ag_news_csv/test.csv": AG_TEST.encode(),
    }
    requested = serve(monkeypatch, tar_gz(files, tmp_path / "ag_news_csv.tgz"))
    root = tmp_path / "data" / "ag_news"
    assert ag_news.download(root) == root.absolute()
    assert requested == [ag_news.URL]
    assert sorted(p.name for p in root.iterdir()) == [
        "classes.txt",
        "readme.txt",
        "test.csv",
        "train.csv",
    ]
    assert len(ag_news.prepare(root)["train"]) == 4
    ag_news.download(root)
    assert requested == [ag_news.URL], "a second download must be skipped"


# --- CoNLL-2003 -----------------------------------------------------------------------------


def test_conll2003_splits(tmp_path: Path) -> None:
    splits = conll2003.prepare(make_conll2003(tmp_path / "conll2003"))
    assert set(splits) == {"train", "valid", "test"}
    train = splits["train"]
    assert list(train.columns) == ["tokens", "tags", "source"]
    assert train["tokens"].tolist() == [["EU", "rejects"], ["Peter", "Blackburn"]]
    assert train["tags"].tolist() == [["B-ORG", "O"], ["B-PER", "I-PER"]]
    assert train["source"].tolist() == ["train.txt line 3", "train.txt line 6"]
    assert splits["test"]["tags"].tolist() == [["B-LOC", "O"]]
    chunks = conll2003.prepare(tmp_path / "conll2003", tag_column=2)
    assert chunks["valid"]["tags"].tolist() == [["B-NP"]]


def test_conll2003_original_names_and_missing_files(tmp_path: Path) -> None:
    original = {"train.txt": "eng.train", "valid.txt": "eng.testa", "test.txt": "eng.testb"}
    splits = conll2003.prepare(make_conll2003(tmp_path / "original", original))
    assert splits["valid"]["source"].tolist() == ["eng.testa line 3"]
    renamed = make_conll2003(tmp_path / "renamed", {"valid.txt": "dev.txt"})
    assert conll2003.prepare(renamed)["valid"]["tokens"].tolist() == [["CRICKET"]]
    (renamed / "dev.txt").unlink()
    assert set(conll2003.prepare(renamed)) == {"train", "test"}
    (renamed / "test.txt").unlink()
    with pytest.raises(DataError, match=r"renamed: no test\.txt or eng\.testb"):
        conll2003.prepare(renamed)
    with pytest.raises(DataError, match=r"nowhere: folder does not exist"):
        conll2003.prepare(tmp_path / "nowhere")
    (tmp_path / "original" / "eng.train").write_text("EU NNP B-NP B-ORG\nrejects VBZ O\n")
    with pytest.raises(DataError, match=r"eng\.train: line 2: 3 columns.*has 4"):
        conll2003.prepare(tmp_path / "original")


def test_conll2003_has_no_download(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    requested = serve(monkeypatch, tmp_path / "unused")
    with pytest.raises(DataError, match=r"no public download.*shared task page.*train\.txt"):
        conll2003.download(tmp_path / "conll2003")
    assert requested == []
