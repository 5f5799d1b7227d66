"""CMU AN4 (census) database: `<root>/wav/{an4_clstk,an4test_clstk}/<speaker>/<id>.wav` and `etc/`.

`etc/an4_<split>.fileids` lists a split's utterances as `<folder>/<speaker>/<id>`, and
`etc/an4_<split>.transcription` holds one line per utterance, `<s> TEXT </s> (<id>)`.
CMU distributes the audio as NIST SPHERE files; `download` converts them to WAV.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile

from toolkit.data.preparers import archive
from toolkit.errors import DataError

URL = "http://www.speech.cs.cmu.edu/databases/an4/an4_sphere.tar.gz"
SPLITS = ("train", "test")
MARKUP = frozenset({"<s>", "</s>", "<sil>"})

_TRANSCRIPTION_LINE = re.compile(r"(?P<text>.*?)\s*\((?P<id>[^()\s]+)\)")
_SPHERE_BYTE_ORDER = {"01": "<", "10": ">"}
_HINT = "pass the AN4 root (containing etc/ and wav/) or run `toolkit data download an4`"


def _an4_folder(root: str | Path) -> Path:
    root = Path(root).absolute()
    # The CMU archive unpacks into an4/; accept its parent as well.
    return root / "an4" if (root / "an4" / "etc").is_dir() else root


def _etc_file(folder: Path, name: str) -> Path:
    path = folder / "etc" / name
    if not path.is_file():
        raise DataError(f"{folder}: no etc/{name}; {_HINT}")
    return path


def _numbered_lines(path: Path) -> list[tuple[int, str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [(number, line.strip()) for number, line in enumerate(lines, 1) if line.strip()]


def _read_transcription(path: Path) -> dict[str, tuple[str, int]]:
    """Utterance id -> (transcript without markup, line number)."""
    transcripts: dict[str, tuple[str, int]] = {}
    for number, line in _numbered_lines(path):
        match = _TRANSCRIPTION_LINE.fullmatch(line)
        if not match:
            raise DataError(f"{path} line {number}: expected 'TEXT (<utterance id>)', got {line!r}")
        # Some copies give the id as the whole fileid path; the last part is what fileids end with.
        utterance = match["id"].rsplit("/", 1)[-1]
        if utterance in transcripts:
            raise DataError(
                f"{path} line {number}: {utterance} already transcribed on line "
                f"{transcripts[utterance][1]}"
            )
        words = [word for word in match["text"].split() if word not in MARKUP]
        transcripts[utterance] = (" ".join(words), number)
    return transcripts


def read_split(root: str | Path, split: str) -> pd.DataFrame:
    """The utterances of one split ("train" or "test"), in the order of its fileids."""
    folder = _an4_folder(root)
    if split not in SPLITS:
        raise DataError(f"{folder}: AN4 splits are {', '.join(SPLITS)}, not {split!r}")
    fileids = _etc_file(folder, f"an4_{split}.fileids")
    transcription = _etc_file(folder, f"an4_{split}.transcription")
    transcripts = _read_transcription(transcription)
    rows = []
    for number, fileid in _numbered_lines(fileids):
        audio = folder / "wav" / f"{fileid}.wav"
        utterance = Path(fileid).name
        if not audio.is_file():
            raise DataError(f"{fileids} line {number}: {audio} does not exist")
        if utterance not in transcripts:
            raise DataError(
                f"{fileids} line {number}: no transcript of {utterance} in {transcription}"
            )
        text, line = transcripts.pop(utterance)
        rows.append(
            {
                "audio": str(audio),
                "transcript": text,
                "speaker": Path(fileid).parent.name,
                "source": f"etc/{transcription.name} line {line}",
            }
        )
    if transcripts:
        utterance, (_, line) = min(transcripts.items(), key=lambda item: item[1][1])
        raise DataError(f"{transcription} line {line}: {utterance} is not listed in {fileids}")
    if not rows:
        raise DataError(f"{fileids}: lists no utterances; {_HINT}")
    return pd.DataFrame(rows, columns=["audio", "transcript", "speaker", "source"])


def prepare(root: str | Path) -> dict[str, pd.DataFrame]:
    """Train and test splits of AN4 (no valid split: the dataset defines none)."""
    return {split: read_split(root, split) for split in SPLITS}


def read_sphere(path: str | Path) -> tuple[np.ndarray, int]:
    """The 16-bit PCM samples (frames, or frames x channels) and sample rate of a SPHERE file."""
    path = Path(path)
    data = path.read_bytes()
    lines = data[:4096].split(b"\n", 2)
    if lines[0].strip() != b"NIST_1A" or len(lines) < 3:
        raise DataError(f"{path}: not a NIST SPHERE file (no NIST_1A header)")
    try:
        header_bytes = int(lines[1])
    except ValueError:
        raise DataError(f"{path}: unreadable SPHERE header size {lines[1]!r}") from None
    fields: dict[str, str] = {}
    for line in data[:header_bytes].decode("ascii", errors="replace").splitlines()[2:]:
        parts = line.split(None, 2)
        if not parts or parts[0] == "end_head":
            break
        if len(parts) == 3:
            fields[parts[0]] = parts[2].strip()
    coding = fields.get("sample_coding", "pcm")
    if coding.lower() != "pcm":
        raise DataError(f"{path}: SPHERE sample coding {coding!r} is not supported, only plain pcm")
    if fields.get("sample_n_bytes", "2") != "2":
        raise DataError(f"{path}: {fields['sample_n_bytes']}-byte samples, expected 16-bit")
    byte_order = _SPHERE_BYTE_ORDER.get(fields.get("sample_byte_format", ""))
    if byte_order is None or "sample_rate" not in fields:
        raise DataError(f"{path}: SPHERE header lacks a sample_rate or a 01/10 sample_byte_format")
    channels = int(fields.get("channel_count", "1"))
    available = (len(data) - header_bytes) // (2 * channels)
    frames = int(fields.get("sample_count", available))
    if frames > available:
        raise DataError(f"{path}: header promises {frames} samples, the file holds {available}")
    samples = np.frombuffer(
        data, dtype=f"{byte_order}i2", count=frames * channels, offset=header_bytes
    ).astype(np.int16)
    if channels > 1:
        samples = samples.reshape(frames, channels)
    return samples, int(float(fields["sample_rate"]))


def convert_sphere_folder(source: str | Path, target: str | Path) -> int:
    """Write every `.sph` under `source` as 16-bit WAV at the same place under `target`.

    Returns the number of files converted.
    """
    source, target = Path(source), Path(target)
    count = 0
    for path in sorted(source.rglob("*.sph")):
        samples, rate = read_sphere(path)
        destination = target / path.relative_to(source).with_suffix(".wav")
        destination.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(destination, samples, rate, subtype="PCM_16")
        count += 1
    return count


def download(root: str | Path) -> Path:
    """Download AN4 into `<root>/etc` and `<root>/wav` (as WAV), unless it is there. Returns root."""
    root = Path(root).absolute()
    folder = _an4_folder(root)
    if (folder / "wav").is_dir() and (folder / "etc" / "an4_test.transcription").is_file():
        return root
    with archive.unpacked_download(URL, root) as unpacked:
        top = unpacked / "an4" if (unpacked / "an4").is_dir() else unpacked
        if not (top / "etc").is_dir() or not (top / "wav").is_dir():
            raise DataError(f"{URL}: the archive has no an4/etc/ and an4/wav/ folders")
        converted = unpacked.parent / "converted-wav"
        if convert_sphere_folder(top / "wav", converted) == 0:
            raise DataError(f"{URL}: the archive has no .sph files under an4/wav/")
        # wav/ arrives last: its presence marks the download as complete.
        for entry in sorted(top.iterdir()):
            if entry.name != "wav":
                archive.move_into_place(entry, root / entry.name)
        archive.move_into_place(converted, root / "wav")
    return root
