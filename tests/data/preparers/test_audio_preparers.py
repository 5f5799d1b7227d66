"""Dataset preparers on tiny copies of the real layouts, and their downloads served offline."""

from __future__ import annotations

import io
import tarfile
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tests.dataset_layouts import (
    FSDD_SPEAKERS,
    NOISE_SECONDS,
    WORDS,
    make_fsdd,
    make_speech_commands,
    write_tone,
)
from toolkit.data.preparers import archive as archive_module
from toolkit.data.preparers import folder, fsdd, speech_commands
from toolkit.errors import DataError

# --- Free Spoken Digit Dataset --------------------------------------------------------------


def test_fsdd_official_split(tmp_path: Path) -> None:
    splits = fsdd.prepare(make_fsdd(tmp_path / "fsdd"))
    assert set(splits) == {"train", "test"}
    train, test = splits["train"], splits["test"]
    assert list(train.columns) == ["audio", "label", "speaker"]
    assert len(test) == 3 * 3 * 5 and len(train) == 3 * 3 * 2
    assert set(test["speaker"]) == set(FSDD_SPEAKERS) == set(train["speaker"])
    assert sorted(test["label"].unique()) == ["0", "1", "2"]

    def takes(frame):
        return {int(Path(p).stem.rsplit("_", 1)[1]) for p in frame["audio"]}

    assert takes(test) == {0, 1, 2, 3, 4} and takes(train) == {5, 6}
    assert all(Path(p).is_absolute() and Path(p).is_file() for p in train["audio"])


def test_fsdd_leave_speakers_out(tmp_path: Path) -> None:
    root = make_fsdd(tmp_path / "fsdd")
    splits = fsdd.prepare(root, test_speakers=["theo", "ye_we"])
    assert set(splits["test"]["speaker"]) == {"theo", "ye_we"}
    assert set(splits["train"]["speaker"]) == {"george"}
    assert len(splits["train"]) + len(splits["test"]) == 3 * 3 * 7
    assert set(fsdd.prepare(root, test_speakers="theo")["test"]["speaker"]) == {"theo"}


def test_fsdd_bad_layouts(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"empty: no recordings/ folder") as caught:
        (tmp_path / "empty").mkdir()
        fsdd.prepare(tmp_path / "empty")
    assert str(tmp_path / "empty") in str(caught.value)
    assert "\n" not in str(caught.value)
    (tmp_path / "no_wavs" / "recordings").mkdir(parents=True)
    with pytest.raises(DataError, match="no_wavs"):
        fsdd.prepare(tmp_path / "no_wavs")
    root = make_fsdd(tmp_path / "fsdd", indices=1)
    with pytest.raises(DataError, match="bob.*speakers are george, theo, ye_we"):
        fsdd.prepare(root, test_speakers=["bob"])
    with pytest.raises(DataError, match="nothing to train on"):
        fsdd.prepare(root, test_speakers=FSDD_SPEAKERS)


def test_fsdd_write_class_folders(tmp_path: Path) -> None:
    root = make_fsdd(tmp_path / "fsdd", indices=2)
    output = fsdd.write_class_folders(root, tmp_path / "classes", speakers=["george"])
    assert sorted(p.name for p in output.iterdir()) == ["0", "1", "2"]
    assert sorted(p.name for p in (output / "1").iterdir()) == ["1_george_0.wav", "1_george_1.wav"]
    assert soundfile.info(output / "1" / "1_george_0.wav").samplerate == 8000
    # Running again replaces the links instead of failing on them.
    fsdd.write_class_folders(root, tmp_path / "classes")
    manifest = folder.read_class_folders(tmp_path / "classes")
    assert len(manifest) == 3 * 3 * 2
    with pytest.raises(DataError, match="nobody"):
        fsdd.write_class_folders(root, tmp_path / "other", speakers=["nobody"])


def tar_gz(files: dict[str, bytes], path: Path) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            entry = tarfile.TarInfo(name)
            entry.size = len(data)
            tar.addfile(entry, io.BytesIO(data))
    return path


def wav_bytes(rate: int, seconds: float = 0.05) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, np.zeros(int(rate * seconds)), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


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


def test_fsdd_download_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    top = f"free-spoken-digit-dataset-{fsdd.VERSION}"
    files = {f"{top}/README.md": b"# FSDD\n", f"{top}/utils/trimmer.py": b"print()\n"}
    for digit in range(2):
        for index in range(6):
            files[f"{top}/recordings/{digit}_jackson_{index}.wav"] = wav_bytes(8000)
    requested = serve(monkeypatch, tar_gz(files, tmp_path / "fsdd.tar.gz"))

    root = tmp_path / "data" / "fsdd"
    assert fsdd.download(root) == root
    assert requested == [fsdd.URL]
    assert len(list((root / "recordings").glob("*.wav"))) == 12
    assert (root / "README.md").is_file()
    assert sorted(p.name for p in root.iterdir()) == ["README.md", "recordings"]
    splits = fsdd.prepare(root)
    assert len(splits["test"]) == 10 and len(splits["train"]) == 2

    assert fsdd.download(root) == root
    assert requested == [fsdd.URL], "a second download must be skipped"


def test_download_of_a_broken_archive_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"this is not a tar archive")
    serve(monkeypatch, broken)
    root = tmp_path / "fsdd"
    with pytest.raises(DataError, match="cannot be unpacked"):
        fsdd.download(root)
    assert list(root.iterdir()) == []


# --- Speech Commands ------------------------------------------------------------------------


def test_speech_commands_all_words(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path / "sc")
    splits = speech_commands.prepare(root)
    assert set(splits) == {"train", "valid", "test"}
    total = sum(len(frame) for frame in splits.values())
    assert total == sum(WORDS.values())
    assert sorted(splits["train"]["label"].unique()) == sorted(WORDS)
    valid_listed = (root / "validation_list.txt").read_text().split()
    assert sorted(splits["valid"]["audio"]) == sorted(str(root / c) for c in valid_listed)
    assert not set(splits["train"]["audio"]) & set(splits["test"]["audio"])
    assert splits["test"]["speaker"].str.fullmatch(r"[0-9a-f]{8}").all()


def test_speech_commands_commands12(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path / "sc")
    output = tmp_path / "prepared"
    splits = speech_commands.prepare(root, classes="commands12", output=output)
    train = splits["train"]
    assert set(train["label"]) == {"yes", "no", "up", "_unknown_", "_silence_"}
    unknown = train[train["label"] == "_unknown_"]
    assert {Path(p).parent.name for p in unknown["audio"]} == {"cat", "dog"}
    assert len(unknown) == 4  # takes 2 and 3 of cat and dog

    for split, frame in splits.items():
        silence = frame[frame["label"] == "_silence_"]
        words = frame[frame["label"] != "_silence_"]
        expected = max(1, round(0.1 * len(words) / words["label"].nunique()))
        assert len(silence) == expected, split
        for path in silence["audio"]:
            audio, rate = soundfile.read(path)
            assert rate == 16000 and len(audio) == 16000
            assert Path(path).parent == output.absolute() / "_silence_"
            # The ramp's value at the crop start gives its position; regions do not overlap.
            position = (audio[0] + 0.9) / 1.8 * NOISE_SECONDS
            low, high = speech_commands.NOISE_REGIONS[split]
            assert low * NOISE_SECONDS - 0.01 <= position <= high * NOISE_SECONDS - 1 + 0.01
        assert silence["speaker"].str.startswith("noise:").all()

    # Deterministic: a second run writes the same crops.
    first = {p: soundfile.read(p)[0] for p in splits["train"]["audio"] if "_silence_" in p}
    again = speech_commands.prepare(root, classes="commands12", output=output)
    assert list(again["train"]["audio"]) == list(splits["train"]["audio"])
    for path, audio in first.items():
        np.testing.assert_array_equal(soundfile.read(path)[0], audio)


def test_silence_crops_come_from_each_split_region(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path / "sc")
    counts = {"train": 6, "valid": 2, "test": 3}
    crops = speech_commands.write_silence_clips(root, tmp_path / "out", counts, seed=5)
    assert crops["split"].value_counts().to_dict() == counts
    # Round-robin over the noise files, so both are used.
    assert set(crops["speaker"]) == {"noise:running_tap", "noise:white_noise"}
    for path, split in zip(crops["audio"], crops["split"], strict=True):
        audio, _ = soundfile.read(path)
        position = (audio[0] + 0.9) / 1.8 * NOISE_SECONDS
        low, high = speech_commands.NOISE_REGIONS[split]
        assert low * NOISE_SECONDS - 0.01 <= position <= high * NOISE_SECONDS - 1 + 0.01
    # A smaller second run leaves no stale crops behind.
    speech_commands.write_silence_clips(root, tmp_path / "out", {"train": 1}, seed=5)
    assert [p.name for p in (tmp_path / "out" / "_silence_").iterdir()] == ["train_0.wav"]


def test_speech_commands_unknown_share(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path / "sc")
    full = speech_commands.prepare(root, classes="commands12", output=tmp_path / "a")
    fewer = speech_commands.prepare(
        root, classes="commands12", output=tmp_path / "b", unknown_share=0.0
    )
    for split in ("train", "valid", "test"):
        assert "_unknown_" in set(full[split]["label"])
        assert "_unknown_" not in set(fewer[split]["label"])
        assert (fewer[split]["label"] == "yes").sum() == (full[split]["label"] == "yes").sum()


def test_speech_commands_noise_folder(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path / "sc")
    noise = speech_commands.noise_folder(root)
    assert noise == root.absolute() / "_background_noise_"
    with pytest.raises(DataError, match="_background_noise_"):
        speech_commands.noise_folder(tmp_path)


def test_speech_commands_bad_layouts(tmp_path: Path) -> None:
    root = make_speech_commands(tmp_path / "sc")
    with pytest.raises(DataError, match="needs an output folder"):
        speech_commands.prepare(root, classes="commands12")
    with pytest.raises(DataError, match="'all' or 'commands12'"):
        speech_commands.prepare(root, classes="commands35")
    with pytest.raises(DataError, match=r"missing: folder does not exist"):
        speech_commands.prepare(tmp_path / "missing")

    (root / "testing_list.txt").write_text("yes/ffffffff_nohash_0.wav\n")
    with pytest.raises(DataError, match=r"testing_list\.txt: 1 listed clip.*ffffffff"):
        speech_commands.prepare(root)
    (root / "testing_list.txt").unlink()
    with pytest.raises(DataError, match=r"sc: no testing_list\.txt") as caught:
        speech_commands.prepare(root)
    assert "\n" not in str(caught.value)


def test_speech_commands_download_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The real tarball is flat, with "./"-prefixed names.
    files = {
        "./LICENSE": b"CC BY 4.0\n",
        "./validation_list.txt": b"yes/00000001_nohash_0.wav\n",
        "./testing_list.txt": b"no/00000002_nohash_0.wav\n",
        "./_background_noise_/white_noise.wav": wav_bytes(16000, seconds=3),
    }
    for word in ("yes", "no", "marvin"):
        for speaker in ("00000001", "00000002", "00000003"):
            files[f"./{word}/{speaker}_nohash_0.wav"] = wav_bytes(16000)
    requested = serve(monkeypatch, tar_gz(files, tmp_path / "sc.tar.gz"))

    root = tmp_path / "speech_commands"
    assert speech_commands.download(root) == root
    assert requested == [speech_commands.URL]
    assert sorted(p.name for p in root.iterdir()) == [
        "LICENSE",
        "_background_noise_",
        "marvin",
        "no",
        "testing_list.txt",
        "validation_list.txt",
        "yes",
    ]
    splits = speech_commands.prepare(root)
    assert (len(splits["train"]), len(splits["valid"]), len(splits["test"])) == (7, 1, 1)

    speech_commands.download(root)
    assert requested == [speech_commands.URL], "a second download must be skipped"


# --- Folder per class -----------------------------------------------------------------------


def test_read_class_folders(tmp_path: Path) -> None:
    data = tmp_path / "mine"
    write_tone(data / "on" / "a.wav", 16000)
    write_tone(data / "on" / "session2" / "b.WAV", 16000)
    (data / "off").mkdir()
    soundfile.write(data / "off" / "c.flac", np.zeros(800), 16000)
    soundfile.write(data / "off" / "d.ogg", np.zeros(8000), 16000, format="OGG", subtype="VORBIS")
    (data / "off" / "notes.txt").write_text("ignored")
    write_tone(data / "off" / ".hidden" / "e.wav", 16000)
    write_tone(data / "off" / ".f.wav", 16000)
    write_tone(data / ".cache" / "g.wav", 16000)
    write_tone(data / "loose.wav", 16000)
    (data / "empty").mkdir()

    manifest = folder.read_class_folders(data)
    assert list(manifest.columns) == ["audio", "label"]
    relative = [Path(p).relative_to(data.absolute()).as_posix() for p in manifest["audio"]]
    assert relative == ["off/c.flac", "off/d.ogg", "on/a.wav", "on/session2/b.WAV"]
    assert list(manifest["label"]) == ["off", "off", "on", "on"]


def test_read_class_folders_bad_layouts(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nowhere: folder does not exist"):
        folder.read_class_folders(tmp_path / "nowhere")
    flat = tmp_path / "flat"
    write_tone(flat / "a.wav", 16000)
    (flat / "docs").mkdir()
    with pytest.raises(DataError, match="flat: no class folders with audio"):
        folder.read_class_folders(flat)
