"""LibriSpeech: `<root>/LibriSpeech/<subset>/<speaker>/<chapter>/<speaker>-<chapter>-<n>.flac`.

Each chapter folder holds `<speaker>-<chapter>.trans.txt`, one `<utterance id> TRANSCRIPT` line
per recording. Subsets (train-clean-100, dev-clean, ...) are downloaded and used separately.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from toolkit.data.preparers import archive
from toolkit.errors import DataError

URL = "https://www.openslr.org/resources/12/{subset}.tar.gz"
# Published digests of each subset's archive (torchaudio's checksums).
SHA256 = {
    "train-clean-100": "d4ddd1d5a6ab303066f14971d768ee43278a5f2a0aa43dc716b0e64ecbbbf6e2",
    "train-clean-360": "146a56496217e96c14334a160df97fffedd6e0a04e66b9c5af0d40be3c792ecf",
    "train-other-500": "ddb22f27f96ec163645d53215559df6aa36515f26e01dd70798188350adcb6d2",
    "dev-clean": "76f87d090650617fca0cac8f88b9416e0ebf80350acb97b343a85fa903728ab3",
    "dev-other": "12661c48e8c3fe1de2c1caa4c3e135193bfb1811584f11f569dd12645aa84365",
    "test-clean": "39fde525e59672dc6d1551919b1478f724438a95aa55f874b576be21967e6c23",
    "test-other": "d09c181bba5cf717b3dee7d4d592af11a3ee3a09e08ae025c5506f6ebe961c29",
}
FOLDER = "LibriSpeech"
SUBSETS = (
    "train-clean-100",
    "train-clean-360",
    "train-other-500",
    "dev-clean",
    "dev-other",
    "test-clean",
    "test-other",
)
DEFAULT_SUBSETS = ("train-clean-100", "dev-clean", "test-clean")
COLUMNS = ["audio", "transcript", "speaker", "source"]

_HINT = "pass the LibriSpeech folder or its parent, or run `toolkit data download librispeech`"


def librispeech_folder(root: str | Path) -> Path:
    """The folder holding the subsets: `<root>/LibriSpeech`, or root itself when it is that."""
    root = Path(root).absolute()
    if (root / FOLDER).is_dir():
        return root / FOLDER
    if root.name == FOLDER or any((root / subset).is_dir() for subset in SUBSETS):
        return root
    return root / FOLDER


def _subsets_found(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    return sorted(entry.name for entry in folder.iterdir() if entry.is_dir())


def _subset_folder(folder: Path, subset: str) -> Path:
    path = folder / subset
    if not path.is_dir():
        found = ", ".join(_subsets_found(folder)) or "none"
        raise DataError(f"{folder}: no {subset}/ subset (subsets found: {found}); {_HINT}")
    return path


def _folders(path: Path) -> list[Path]:
    return sorted(entry for entry in path.iterdir() if entry.is_dir())


def _read_chapter(chapter: Path, subset: str) -> list[dict[str, str]]:
    speaker = chapter.parent.name
    recordings = {path.stem for path in chapter.glob("*.flac")}
    transcripts = chapter / f"{speaker}-{chapter.name}.trans.txt"
    if not transcripts.is_file():
        if recordings:
            first = chapter / f"{min(recordings)}.flac"
            raise DataError(f"{first}: no transcript, {transcripts.name} is missing")
        return []
    prefix = f"{speaker}-{chapter.name}-"
    rows = []
    transcribed: set[str] = set()
    for number, line in enumerate(transcripts.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{transcripts} line {number}"
        utterance, _, text = line.strip().partition(" ")
        if not utterance.startswith(prefix) or not text.strip():
            raise DataError(f"{where}: expected '{prefix}<n> TRANSCRIPT', got {line!r}")
        if utterance in transcribed:
            raise DataError(f"{where}: {utterance} is transcribed twice")
        if utterance not in recordings:
            raise DataError(f"{where}: no recording {utterance}.flac in {chapter}")
        transcribed.add(utterance)
        rows.append(
            {
                "audio": str(chapter / f"{utterance}.flac"),
                "transcript": text.strip(),
                "speaker": speaker,
                "source": f"{subset}/{speaker}/{chapter.name}/{transcripts.name} line {number}",
            }
        )
    untranscribed = sorted(recordings - transcribed)
    if untranscribed:
        raise DataError(f"{chapter / untranscribed[0]}.flac: no transcript in {transcripts}")
    return rows


def read_subset(root: str | Path, subset: str) -> pd.DataFrame:
    """Every utterance of one subset, ordered by speaker, chapter and utterance."""
    subset_folder = _subset_folder(librispeech_folder(root), subset)
    rows = [
        row
        for speaker in _folders(subset_folder)
        for chapter in _folders(speaker)
        for row in _read_chapter(chapter, subset)
    ]
    if not rows:
        raise DataError(f"{subset_folder}: no <speaker>/<chapter>/*.trans.txt; {_HINT}")
    return pd.DataFrame(rows, columns=COLUMNS)


def prepare(
    root: str | Path,
    train: str | list[str] = "train-clean-100",
    valid: str | None = "dev-clean",
    test: str | None = "test-clean",
) -> dict[str, pd.DataFrame]:
    """Train, valid and test splits from LibriSpeech subsets.

    `train` may combine several subsets (e.g. all three training ones). valid or test None
    leaves that split out.
    """
    folder = librispeech_folder(root)
    chosen = {
        "train": [train] if isinstance(train, str) else list(train),
        "valid": [] if valid is None else [valid],
        "test": [] if test is None else [test],
    }
    every = [subset for subsets in chosen.values() for subset in subsets]
    repeated = sorted({subset for subset in every if every.count(subset) > 1})
    if repeated:
        raise DataError(f"{folder}: subset(s) {', '.join(repeated)} chosen for more than one split")
    if not chosen["train"]:
        raise DataError(f"{folder}: no training subset given")
    # Every subset is looked for before any is read, so a missing one fails at once.
    for subset in every:
        _subset_folder(folder, subset)
    splits = {}
    for split, subsets in chosen.items():
        if subsets:
            frames = [read_subset(folder, subset) for subset in subsets]
            splits[split] = pd.concat(frames, ignore_index=True)
    return splits


def download(
    root: str | Path, subsets: str | list[str] | tuple[str, ...] = DEFAULT_SUBSETS
) -> Path:
    """Download LibriSpeech subsets into `<root>/LibriSpeech/<subset>`, skipping those there.

    Returns root.
    """
    root = Path(root).absolute()
    chosen = [subsets] if isinstance(subsets, str) else list(subsets)
    unknown = [subset for subset in chosen if subset not in SUBSETS]
    if unknown:
        raise DataError(
            f"{root}: unknown LibriSpeech subset(s) {', '.join(unknown)}; "
            f"subsets are {', '.join(SUBSETS)}"
        )
    folder = librispeech_folder(root)
    for subset in chosen:
        if (folder / subset).is_dir():
            continue
        url = URL.format(subset=subset)
        with archive.unpacked_download(url, folder.parent, SHA256[subset]) as unpacked:
            top = unpacked / FOLDER
            if not (top / subset).is_dir():
                raise DataError(f"{url}: the archive has no {FOLDER}/{subset}/")
            folder.mkdir(exist_ok=True)
            # Every archive repeats the README, licence and speaker lists; keep the first copy.
            for entry in sorted(top.iterdir()):
                if entry.name != subset and not (folder / entry.name).exists():
                    archive.move_into_place(entry, folder / entry.name)
            # The subset folder arrives last: its presence marks that subset as complete.
            archive.move_into_place(top / subset, folder / subset)
    return root
