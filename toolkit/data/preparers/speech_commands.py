"""Google Speech Commands v2: `<root>/<word>/<speaker>_nohash_<n>.wav` plus split lists.

The dataset defines validation and test by `validation_list.txt` and `testing_list.txt`
(paths relative to the root); every other clip is train.
"""

from __future__ import annotations

import shutil
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile

from toolkit.data.preparers import archive
from toolkit.errors import DataError

URL = "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"
# The published digest (TensorFlow Datasets' and torchaudio's checksums).
SHA256 = "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58"
COMMANDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
UNKNOWN = "_unknown_"
SILENCE = "_silence_"
NOISE_FOLDER = "_background_noise_"
SPLITS = ["train", "valid", "test"]
LIST_FILES = {"valid": "validation_list.txt", "test": "testing_list.txt"}
# Each split crops its silence from its own stretch of every noise file, so no noise is shared
# between train and test.
NOISE_REGIONS = {"train": (0.0, 0.8), "valid": (0.8, 0.9), "test": (0.9, 1.0)}
SILENCE_SHARE = 0.1  # silence clips per split, relative to the average class in that split

_HINT = (
    "pass the Speech Commands root (containing the word folders and testing_list.txt) "
    "or run `toolkit data download speech_commands`"
)


def _check_root(root: Path) -> None:
    if not root.is_dir():
        raise DataError(f"{root}: folder does not exist; {_HINT}")
    for name in LIST_FILES.values():
        if not (root / name).is_file():
            raise DataError(f"{root}: no {name}; {_HINT}")


def _read_list(root: Path, name: str, present: set[str]) -> set[str]:
    path = root / name
    listed = {line.strip() for line in path.read_text().splitlines() if line.strip()}
    missing = sorted(listed - present)
    if missing:
        raise DataError(
            f"{path}: {len(missing)} listed clip(s) missing from the word folders, "
            f"e.g. {missing[0]}; is the download complete?"
        )
    return listed


def read_clips(root: str | Path) -> pd.DataFrame:
    """Every word clip with its audio path, word, speaker and split."""
    root = Path(root).absolute()
    _check_root(root)
    clips = sorted(
        path.relative_to(root).as_posix()
        for folder in root.iterdir()
        if folder.is_dir() and not folder.name.startswith(("_", "."))
        for path in folder.glob("*.wav")
    )
    if not clips:
        raise DataError(f"{root}: no <word>/*.wav clips; {_HINT}")
    present = set(clips)
    split_of = dict.fromkeys(clips, "train")
    for split, name in LIST_FILES.items():
        for clip in _read_list(root, name, present):
            split_of[clip] = split
    return pd.DataFrame(
        {
            "audio": [str(root / clip) for clip in clips],
            "word": [clip.split("/")[0] for clip in clips],
            "speaker": [clip.split("/")[1].split("_nohash_")[0] for clip in clips],
            "split": [split_of[clip] for clip in clips],
            "relative": clips,
        }
    )


def noise_folder(root: str | Path) -> Path:
    """The `_background_noise_` folder, for background-noise augmentation."""
    folder = Path(root).absolute() / NOISE_FOLDER
    if not folder.is_dir() or not any(folder.glob("*.wav")):
        raise DataError(f"{folder}: no background noise .wav files; {_HINT}")
    return folder


def write_silence_clips(
    root: str | Path, output: str | Path, counts: dict[str, int], seed: int = 0
) -> pd.DataFrame:
    """Write `counts[split]` 1-second background-noise crops per split as `_silence_` clips.

    Files are `<output>/_silence_/<split>_<n>.wav`; returns a manifest with a `split` column.
    """
    noise_files = sorted(noise_folder(root).glob("*.wav"))
    folder = Path(output).absolute() / SILENCE
    # Rewritten from scratch so a run asking for fewer clips leaves no stale ones.
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rows = []
    for split_number, split in enumerate(SPLITS):
        count = counts.get(split, 0)
        if count == 0:
            continue
        sources = []
        for path in noise_files:
            info = soundfile.info(path)
            length = info.samplerate  # one second
            first, last = (int(share * info.frames) for share in NOISE_REGIONS[split])
            if last - first >= length:
                sources.append((path, info.samplerate, first, last - length))
        if not sources:
            raise DataError(
                f"{noise_folder(root)}: noise files too short for 1-second {split} crops"
            )
        generator = np.random.default_rng([seed, split_number])
        for index in range(count):
            path, rate, lowest, highest = sources[index % len(sources)]
            start = int(generator.integers(lowest, highest + 1))
            audio, _ = soundfile.read(path, start=start, frames=rate, dtype="float32")
            if audio.ndim > 1:
                audio = audio.mean(axis=1)
            target = folder / f"{split}_{index}.wav"
            soundfile.write(target, audio, rate, subtype="PCM_16")
            rows.append(
                {
                    "audio": str(target),
                    "label": SILENCE,
                    "speaker": f"noise:{path.stem}",
                    "split": split,
                }
            )
    return pd.DataFrame(rows, columns=["audio", "label", "speaker", "split"])


def _keep_share(relative: str, share: float) -> bool:
    # A hash of the path, not a random draw: the same clips stay chosen however the folder is read.
    return zlib.crc32(relative.encode()) / 2**32 < share


def prepare(
    root: str | Path,
    classes: str = "all",
    output: str | Path | None = None,
    unknown_share: float = 1.0,
    seed: int = 0,
) -> dict[str, pd.DataFrame]:
    """Train, valid and test splits of Speech Commands.

    classes="all": one class per word folder (35 in v2). classes="commands12": the ten commands,
    `_unknown_` for every other word and `_silence_` for 1-second crops of the background noise,
    written into `output` (required then), about a tenth of an average class per split.
    `unknown_share` keeps that fraction of the `_unknown_` clips (chosen by path hash).
    """
    root = Path(root).absolute()
    if classes not in ("all", "commands12"):
        raise DataError(f"{root}: classes must be 'all' or 'commands12', not {classes!r}")
    table = read_clips(root)
    if classes == "all":
        table["label"] = table["word"]
    else:
        if output is None:
            raise DataError(
                f"{root}: classes='commands12' needs an output folder for _silence_ clips"
            )
        table["label"] = table["word"].where(table["word"].isin(COMMANDS), UNKNOWN)
        if unknown_share < 1.0:
            keep = [
                label != UNKNOWN or _keep_share(relative, unknown_share)
                for label, relative in zip(table["label"], table["relative"], strict=True)
            ]
            table = table[keep]
        counts = {}
        for split in SPLITS:
            labels = table.loc[table["split"] == split, "label"]
            if len(labels):
                counts[split] = max(1, round(SILENCE_SHARE * len(labels) / labels.nunique()))
        silence = write_silence_clips(root, output, counts, seed)
        table = pd.concat([table, silence], ignore_index=True)
    columns = ["audio", "label", "speaker"]
    splits = {}
    for split in SPLITS:
        part = table[table["split"] == split].sort_values("audio", kind="stable")
        splits[split] = part[columns].reset_index(drop=True)
    return splits


def download(root: str | Path) -> Path:
    """Download Speech Commands v2 into `root`, unless it is already there. Returns root."""
    root = Path(root).absolute()
    if all((root / name).is_file() for name in LIST_FILES.values()):
        return root
    with archive.unpacked_download(URL, root, SHA256) as unpacked:
        entries = sorted(unpacked.iterdir())
        if not (unpacked / LIST_FILES["test"]).is_file():
            raise DataError(f"{URL}: the archive has no {LIST_FILES['test']} at its top level")
        # The split lists arrive last: their presence marks the download as complete.
        last = [unpacked / name for name in LIST_FILES.values()]
        for entry in [entry for entry in entries if entry not in last] + last:
            archive.move_into_place(entry, root / entry.name)
    return root
