"""Speech recognition preparers (AN4, LibriSpeech, LJ Speech) on tiny copies of the real layouts."""

from __future__ import annotations

import io
import tarfile
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.dataset_layouts import (
    AN4_TEST,
    AN4_TRAIN,
    LIBRI_TEXT,
    LJ_CLIPS,
    make_an4,
    make_librispeech,
    make_ljspeech,
    write_an4_etc,
)
from toolkit.data.preparers import an4, librispeech, ljspeech
from toolkit.data.preparers import archive as archive_module
from toolkit.errors import DataError

COLUMNS = ["audio", "transcript", "speaker", "source"]


def tar_archive(files: dict[str, bytes], path: Path, compression: str = "gz") -> Path:
    with tarfile.open(path, f"w:{compression}") as tar:
        for name, data in files.items():
            entry = tarfile.TarInfo(name)
            entry.size = len(data)
            tar.addfile(entry, io.BytesIO(data))
    return path


def audio_bytes(rate: int, file_format: str, seconds: float = 0.05) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(int(rate * seconds)), rate, format=file_format)
    return buffer.getvalue()


def serve(monkeypatch: pytest.MonkeyPatch, archives: dict[str, Path]) -> list[str]:
    """Answer each URL with its local archive; returns the URLs asked for."""
    requested: list[str] = []

    def fake_urlopen(url: str, timeout: float | None = None) -> io.BufferedReader:
        requested.append(url)
        return open(archives[url], "rb")  # the caller closes it, as it would a response

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    # The stand-in archives are not the published ones: no digest to check them against.
    unpacked_download = archive_module.unpacked_download
    monkeypatch.setattr(
        archive_module,
        "unpacked_download",
        lambda url, root, sha256=None: unpacked_download(url, root),
    )
    return requested


# --- AN4 ------------------------------------------------------------------------------------


def test_an4_prepare(tmp_path: Path) -> None:
    root = make_an4(tmp_path / "an4")
    splits = an4.prepare(root)
    assert set(splits) == {"train", "test"}
    train, test = splits["train"], splits["test"]
    assert list(train.columns) == COLUMNS
    assert list(train["transcript"]) == ["YES", "GO TO", "SIX TWO FIVE"]
    assert list(test["transcript"]) == ["RUBOUT G M E F THREE NINE", "ERASE C Q Q F SEVEN"]
    assert list(train["speaker"]) == ["fash", "fash", "mgah"]
    assert list(train["source"])[2] == "etc/an4_train.transcription line 3"
    assert train["audio"][0] == str(root.absolute() / "wav/an4_clstk/fash/an251-fash-b.wav")
    assert all(Path(p).is_file() for p in test["audio"])
    # The parent of an an4/ folder works too, as the CMU archive unpacks.
    assert len(an4.prepare(tmp_path)["train"]) == 3


def test_an4_matches_transcripts_by_id(tmp_path: Path) -> None:
    root = make_an4(tmp_path / "an4")
    transcription = root / "etc" / "an4_train.transcription"
    transcription.write_text("".join(f"{t}\n" for t in reversed(AN4_TRAIN.values())))
    train = an4.prepare(root)["train"]
    assert list(train["transcript"]) == ["YES", "GO TO", "SIX TWO FIVE"]
    assert list(train["source"]) == [f"etc/an4_train.transcription line {n}" for n in (3, 2, 1)]


def test_an4_errors(tmp_path: Path) -> None:
    root = make_an4(tmp_path / "an4")
    etc = root / "etc"
    transcription = etc / "an4_train.transcription"
    lines = list(AN4_TRAIN.values())

    transcription.write_text(f"{lines[0]}\n{lines[2]}\n")
    with pytest.raises(DataError, match=r"an4_train\.fileids line 2: no transcript of an253"):
        an4.prepare(root)

    transcription.write_text(f"{lines[0]}\n<s> GO </s>\n{lines[2]}\n")
    with pytest.raises(DataError, match=r"an4_train\.transcription line 2: expected") as caught:
        an4.prepare(root)
    assert "\n" not in str(caught.value)

    transcription.write_text("".join(f"{t}\n" for t in [*lines, "<s> NO </s> (an999-fash-b)"]))
    with pytest.raises(DataError, match=r"transcription line 4: an999-fash-b is not listed"):
        an4.prepare(root)

    transcription.write_text("".join(f"{t}\n" for t in [*lines, lines[0]]))
    with pytest.raises(DataError, match=r"line 4: an251-fash-b already transcribed on line 1"):
        an4.prepare(root)

    write_an4_etc(etc)
    (root / "wav/an4test_clstk/fcaw/an407-fcaw-b.wav").unlink()
    with pytest.raises(DataError, match=r"an4_test\.fileids line 2: .*an407-fcaw-b\.wav does not"):
        an4.prepare(root)

    (etc / "an4_test.fileids").unlink()
    with pytest.raises(DataError, match=r"an4: no etc/an4_test\.fileids"):
        an4.prepare(root)


def sphere_bytes(samples: np.ndarray, rate: int, byte_order: str, coding: str = "pcm") -> bytes:
    """A NIST SPHERE file as CMU's tools write it: 1024-byte header, then the samples."""
    fields = [
        "database_id -s3 an4",
        f"sample_count -i {len(samples)}",
        f"sample_rate -i {rate}",
        "channel_count -i 1",
        f"sample_byte_format -s2 {byte_order}",
        "sample_n_bytes -i 2",
        "sample_sig_bits -i 16",
        f"sample_coding -s{len(coding)} {coding}",
        "end_head",
    ]
    header = ("NIST_1A\n   1024\n" + "\n".join(fields) + "\n").encode("ascii")
    dtype = "<i2" if byte_order == "01" else ">i2"
    return header.ljust(1024, b" ") + samples.astype(dtype).tobytes()


SAMPLES = np.array([0, 1, -1, 256, -256, 32767, -32768, 1000], dtype=np.int16)


@pytest.mark.parametrize("byte_order", ["01", "10"])
def test_read_sphere(tmp_path: Path, byte_order: str) -> None:
    path = tmp_path / "a.sph"
    path.write_bytes(sphere_bytes(SAMPLES, 16000, byte_order) + b"\0\0")  # trailing padding
    samples, rate = an4.read_sphere(path)
    assert rate == 16000 and samples.dtype == np.int16
    np.testing.assert_array_equal(samples, SAMPLES)
    # libsndfile's own NIST reader agrees, so the fixture is a genuine SPHERE file.
    np.testing.assert_array_equal(soundfile.read(path, dtype="int16")[0][: len(SAMPLES)], SAMPLES)

    assert an4.convert_sphere_folder(tmp_path, tmp_path / "out") == 1
    audio, rate = soundfile.read(tmp_path / "out" / "a.wav", dtype="int16")
    assert rate == 16000 and soundfile.info(tmp_path / "out" / "a.wav").subtype == "PCM_16"
    np.testing.assert_array_equal(audio, SAMPLES)


def test_read_sphere_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    path = tmp_path / "a.sph"
    path.write_bytes(sphere_bytes(SAMPLES, 16000, "01", coding="pcm,embedded-shorten-v2.00"))
    with pytest.raises(DataError, match="shorten.*not supported"):
        an4.read_sphere(path)
    path.write_bytes(b"RIFF" + bytes(100))
    with pytest.raises(DataError, match="not a NIST SPHERE file"):
        an4.read_sphere(path)
    path.write_bytes(sphere_bytes(SAMPLES, 16000, "01")[:-4])
    with pytest.raises(DataError, match="promises 8 samples, the file holds 6"):
        an4.read_sphere(path)


def test_an4_download_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    etc = tmp_path / "fixture_etc"
    write_an4_etc(etc)
    files = {f"an4/etc/{p.name}": p.read_bytes() for p in etc.iterdir()}
    files["an4/etc/an4.dic"] = b"YES    Y EH S\n"
    files["an4/README"] = b"AN4\n"
    for fileid in [*AN4_TRAIN, *AN4_TEST]:
        files[f"an4/wav/{fileid}.sph"] = sphere_bytes(SAMPLES, 16000, "10")
    requested = serve(monkeypatch, {an4.URL: tar_archive(files, tmp_path / "an4.tar.gz")})

    root = tmp_path / "data" / "an4"
    assert an4.download(root) == root
    assert requested == [an4.URL]
    assert sorted(p.name for p in root.iterdir()) == ["README", "etc", "wav"]
    assert (root / "etc" / "an4.dic").is_file()
    assert not list(root.rglob("*.sph"))
    splits = an4.prepare(root)
    assert (len(splits["train"]), len(splits["test"])) == (3, 2)
    audio, rate = soundfile.read(splits["test"]["audio"][1], dtype="int16")
    assert rate == 16000
    np.testing.assert_array_equal(audio, SAMPLES)

    assert an4.download(root) == root
    assert requested == [an4.URL], "a second download must be skipped"


AN4_SHARED = Path("/work/shared/data/an4")


@pytest.mark.skipif(not AN4_SHARED.is_dir(), reason="no AN4 copy at /work/shared/data/an4")
def test_an4_real_data() -> None:
    splits = an4.prepare(AN4_SHARED)
    train, test = splits["train"], splits["test"]
    assert (len(train), len(test)) == (948, 130)
    assert train["transcript"][0] == "YES"
    assert test["transcript"][0] == "RUBOUT G M E F THREE NINE"
    every = [*train["transcript"], *test["transcript"]]
    assert not any("<" in text or "(" in text for text in every)
    assert train["speaker"].nunique() == 74 and test["speaker"].nunique() == 10
    assert not set(train["speaker"]) & set(test["speaker"])


# --- LibriSpeech ----------------------------------------------------------------------------


def test_librispeech_prepare(tmp_path: Path) -> None:
    parent = make_librispeech(tmp_path / "data")
    splits = librispeech.prepare(parent)
    assert set(splits) == {"train", "valid", "test"}
    train, valid, test = splits["train"], splits["valid"], splits["test"]
    assert list(train.columns) == COLUMNS
    assert (len(train), len(valid), len(test)) == (6, 2, 4)
    assert list(train["speaker"]) == ["19", "19", "19", "19", "26", "26"]
    assert train["transcript"][1] == f"{LIBRI_TEXT} 1"
    first = parent.absolute() / "LibriSpeech/train-clean-100/19/198/19-198-0000.flac"
    assert train["audio"][0] == str(first)
    assert train["source"][1] == "train-clean-100/19/198/19-198.trans.txt line 2"
    assert all(Path(p).is_file() for p in test["audio"])

    # The LibriSpeech folder itself works too, and train may combine subsets.
    both = librispeech.prepare(
        parent / "LibriSpeech", train=["train-clean-100", "train-clean-360"], test=None
    )
    assert set(both) == {"train", "valid"}
    assert len(both["train"]) == 8 and set(both["train"]["speaker"]) == {"19", "26", "100"}


def test_librispeech_errors(tmp_path: Path) -> None:
    parent = make_librispeech(tmp_path / "data")
    with pytest.raises(DataError, match=r"no test-other/ subset \(subsets found: dev-clean, test"):
        librispeech.prepare(parent, test="test-other")
    with pytest.raises(DataError, match=r"found: none"):
        librispeech.prepare(tmp_path / "empty")
    with pytest.raises(DataError, match="dev-clean chosen for more than one split"):
        librispeech.prepare(parent, train="dev-clean")

    chapter = parent / "LibriSpeech" / "dev-clean" / "84" / "121123"
    transcripts = chapter / "84-121123.trans.txt"
    transcripts.write_text(f"84-121123-0000 {LIBRI_TEXT}\n84-121123-0001\n")
    with pytest.raises(DataError, match=r"84-121123\.trans\.txt line 2: expected") as caught:
        librispeech.prepare(parent)
    assert "\n" not in str(caught.value)
    transcripts.write_text(f"84-121123-0000 {LIBRI_TEXT}\n")
    with pytest.raises(DataError, match=r"84-121123-0001\.flac: no transcript in"):
        librispeech.prepare(parent)
    transcripts.write_text("84-121123-0000 A\n84-121123-0001 B\n84-121123-0002 C\n")
    with pytest.raises(DataError, match=r"trans\.txt line 3: no recording 84-121123-0002\.flac"):
        librispeech.prepare(parent)
    transcripts.unlink()
    with pytest.raises(DataError, match=r"84-121123-0000\.flac: no transcript"):
        librispeech.prepare(parent)


def test_librispeech_download_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archives = {}
    for subset, speaker in (("dev-clean", "84"), ("test-clean", "1089")):
        files = {
            "LibriSpeech/README.TXT": f"LibriSpeech {subset}\n".encode(),
            f"LibriSpeech/{subset}/{speaker}/7/{speaker}-7.trans.txt": f"{speaker}-7-0000 HI\n".encode(),
            f"LibriSpeech/{subset}/{speaker}/7/{speaker}-7-0000.flac": audio_bytes(16000, "FLAC"),
        }
        url = librispeech.URL.format(subset=subset)
        archives[url] = tar_archive(files, tmp_path / f"{subset}.tar.gz")
    requested = serve(monkeypatch, archives)

    root = tmp_path / "data"
    assert librispeech.download(root, ["dev-clean", "test-clean"]) == root
    assert requested == sorted(archives)
    folder = root / "LibriSpeech"
    assert sorted(p.name for p in folder.iterdir()) == ["README.TXT", "dev-clean", "test-clean"]
    assert (folder / "README.TXT").read_text() == "LibriSpeech dev-clean\n"
    splits = librispeech.prepare(root, train="dev-clean", valid=None)
    assert list(splits["test"]["transcript"]) == ["HI"]

    librispeech.download(root, "dev-clean")
    assert len(requested) == 2, "a subset already there must not be downloaded again"
    with pytest.raises(DataError, match="unknown LibriSpeech subset.*train-clean-1000"):
        librispeech.download(root, ["train-clean-1000"])


# --- LJ Speech ------------------------------------------------------------------------------


def test_ljspeech_prepare(tmp_path: Path) -> None:
    parent = make_ljspeech(tmp_path / "data")
    splits = ljspeech.prepare(parent, valid_fraction=0.1, test_fraction=0.15)
    train, valid, test = splits["train"], splits["valid"], splits["test"]
    assert list(train.columns) == COLUMNS
    assert (len(train), len(valid), len(test)) == (15, 2, 3)
    every = [*train["audio"], *valid["audio"], *test["audio"]]
    assert len(set(every)) == LJ_CLIPS
    assert set(train["speaker"]) == {"LJ"}
    first = ljspeech.read_metadata(parent).iloc[0]
    assert first["transcript"] == '"Mister Smith", said "hi 1'
    assert first["source"] == "metadata.csv line 1"
    assert first["audio"] == str(parent.absolute() / "LJSpeech-1.1/wavs/LJ001-0001.wav")
    assert list(test["audio"]) == sorted(test["audio"]), "each split keeps the file order"

    again = ljspeech.prepare(parent / "LJSpeech-1.1", valid_fraction=0.1, test_fraction=0.15)
    assert list(again["test"]["audio"]) == list(test["audio"])
    other = ljspeech.prepare(parent, valid_fraction=0.1, test_fraction=0.15, seed=7)
    assert list(other["test"]["audio"]) != list(test["audio"])

    no_valid = ljspeech.prepare(parent, valid_fraction=0, test_fraction=0.01)
    assert set(no_valid) == {"train", "test"} and len(no_valid["test"]) == 1


def test_ljspeech_errors(tmp_path: Path) -> None:
    parent = make_ljspeech(tmp_path / "data")
    metadata = parent / "LJSpeech-1.1" / "metadata.csv"
    with pytest.raises(DataError, match="valid_fraction must be at least 0 and below 1"):
        ljspeech.prepare(parent, valid_fraction=1.0)
    with pytest.raises(DataError, match="leave none of the 20 to train on"):
        ljspeech.prepare(parent, valid_fraction=0.5, test_fraction=0.5)
    with pytest.raises(DataError, match=r"no LJSpeech-1\.1/metadata\.csv"):
        ljspeech.prepare(tmp_path)

    lines = metadata.read_text().splitlines()
    metadata.write_text("\n".join([*lines[:3], "LJ001-0004|only raw text", *lines[4:]]))
    with pytest.raises(DataError, match=r"metadata\.csv line 4: expected 'id\|raw") as caught:
        ljspeech.prepare(parent)
    assert "\n" not in str(caught.value)
    metadata.write_text("\n".join([*lines, "LJ050-0001|Text.|Text."]))
    with pytest.raises(DataError, match=r"metadata\.csv line 21: .*LJ050-0001\.wav does not exist"):
        ljspeech.prepare(parent)


def test_ljspeech_download_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"LJSpeech-1.1/README": b"LJ Speech\n"}
    lines = []
    for index in range(1, 5):
        files[f"LJSpeech-1.1/wavs/LJ001-{index:04d}.wav"] = audio_bytes(22050, "WAV")
        lines.append(f"LJ001-{index:04d}|Text {index}.|Text {index}.\n")
    files["LJSpeech-1.1/metadata.csv"] = "".join(lines).encode()
    # The real archive is bzip2-compressed; the download must detect that by itself.
    bz2_archive = tar_archive(files, tmp_path / "LJSpeech-1.1.tar.bz2", compression="bz2")
    requested = serve(monkeypatch, {ljspeech.URL: bz2_archive})

    root = tmp_path / "data"
    assert ljspeech.download(root) == root
    assert requested == [ljspeech.URL]
    assert sorted(p.name for p in root.iterdir()) == ["LJSpeech-1.1"]
    splits = ljspeech.prepare(root, valid_fraction=0.25, test_fraction=0.25)
    assert [len(splits[split]) for split in ("train", "valid", "test")] == [2, 1, 1]

    ljspeech.download(root)
    assert requested == [ljspeech.URL], "a second download must be skipped"
