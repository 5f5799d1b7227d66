"""Tiny copies of each named dataset's real layout, for the preparer tests.

`LAYOUTS` builds one per registered dataset (`toolkit data list`); a new preparer adds its
builder there, or tests/cli/test_data_prepare.py fails.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile


def write_tone(path: Path, rate: int, seconds: float = 0.05, frequency: float = 440.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    time = np.arange(int(rate * seconds)) / rate
    soundfile.write(path, 0.3 * np.sin(2 * np.pi * frequency * time), rate, subtype="PCM_16")


# --- Free Spoken Digit Dataset --------------------------------------------------------------------

FSDD_SPEAKERS = ["george", "theo", "ye_we"]  # an underscore in a name must survive parsing


def make_fsdd(root: Path, indices: int = 7) -> Path:
    for digit in range(3):
        for speaker in FSDD_SPEAKERS:
            for index in range(indices):
                write_tone(root / "recordings" / f"{digit}_{speaker}_{index}.wav", 8000)
    (root / "recordings" / "notes.txt").write_text("not a recording")
    return root


# --- Speech Commands ------------------------------------------------------------------------------

WORDS = {"yes": 6, "no": 6, "up": 6, "cat": 4, "dog": 4}  # clips per word; cat and dog are unknown
NOISE_SECONDS = 12


def make_speech_commands(root: Path) -> Path:
    clips = []
    for word, count in WORDS.items():
        for index in range(count):
            relative = f"{word}/{index:08x}_nohash_{index % 2}.wav"
            write_tone(root / relative, 16000)
            clips.append(relative)
    # Take 0 of every word is validation, take 1 test, the rest train.
    (root / "validation_list.txt").write_text("".join(f"{c}\n" for c in clips[0::6]))
    (root / "testing_list.txt").write_text("".join(f"{c}\n" for c in clips[1::6]))
    rate = 16000
    for name in ("white_noise", "running_tap"):
        # A ramp, so a crop's first sample tells where in the file it was cut.
        ramp = np.linspace(-0.9, 0.9, NOISE_SECONDS * rate)
        path = root / "_background_noise_" / f"{name}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(path, ramp, rate, subtype="PCM_16")
    (root / "_background_noise_" / "README.md").write_text("noise")
    return root


# --- IMDb -----------------------------------------------------------------------------------------

IMDB_REVIEWS = {
    "train/pos/10_9.txt": "A gem.<br /><br />Loved it.",
    "train/pos/2_7.txt": "Good fun.",
    "train/neg/0_3.txt": "Dull and slow.",
    "train/unsup/0_0.txt": "No rating here.",
    "test/pos/0_10.txt": "Best film this year — süper.",
    "test/neg/1_1.txt": "Awful.",
}


def imdb_files() -> dict[str, bytes]:
    files = {f"aclImdb/{name}": text.encode("utf-8") for name, text in IMDB_REVIEWS.items()}
    files["aclImdb/README"] = b"Large Movie Review Dataset v1.0\n"
    files["aclImdb/imdb.vocab"] = b"the\nand\n"
    files["aclImdb/train/labeledBow.feat"] = b"9 0:1\n"
    files["aclImdb/train/urls_pos.txt"] = b"http://www.imdb.com/title/tt0453418/usercomments\n"
    return files


def make_imdb(root: Path) -> Path:
    for name, data in imdb_files().items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


# --- AG News --------------------------------------------------------------------------------------

# Rows as the real files have them: every field quoted, backslashes for line breaks, "\$".
AG_TRAIN = (
    '"3","Wall St. Bears Claw Back Into the Black (Reuters)","Reuters - Short-sellers, '
    "Wall Street's dwindling\\band of ultra-cynics, are seeing green again.\"\n"
    '"4","Trade Gap","The deficit hit \\$55.8bn as ""oil"" costs rose.\\n"\n'
    '"2","Phelps Wins","ATHENS \\\\ Michael Phelps won, again."\n'
    '"1","Talks","Leaders met on\\nuclear arms."\n'
)
AG_TEST = '"1","Iraq Vote","Iraqis voted on Sunday."\n"2","Final","Greece won."\n'
AG_CLASSES = "World\nSports\nBusiness\nSci/Tech\n"


def make_ag_news(folder: Path, classes: bool = True) -> Path:
    folder.mkdir(parents=True)
    (folder / "train.csv").write_text(AG_TRAIN, encoding="utf-8")
    (folder / "test.csv").write_text(AG_TEST, encoding="utf-8")
    if classes:
        (folder / "classes.txt").write_text(AG_CLASSES)
    return folder


# --- CoNLL-2003 -----------------------------------------------------------------------------------

CONLL_SPLITS = {
    "train.txt": "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\n"
    "Peter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n",
    "valid.txt": "-DOCSTART- -X- -X- O\n\nCRICKET NNP B-NP O\n",
    "test.txt": "-DOCSTART- -X- -X- O\n\nJapan NNP B-NP B-LOC\nwins VBZ B-VP O\n",
}


def make_conll2003(root: Path, names: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True)
    for name, text in CONLL_SPLITS.items():
        (root / (names or {}).get(name, name)).write_text(text)
    return root


# --- AN4 ------------------------------------------------------------------------------------------

AN4_TRAIN = {
    "an4_clstk/fash/an251-fash-b": "<s> YES </s> (an251-fash-b)",
    "an4_clstk/fash/an253-fash-b": "<s> GO <sil> TO </s> (an253-fash-b)",
    "an4_clstk/mgah/cen7-mgah-b": "<s> SIX TWO FIVE </s> (an4_clstk/mgah/cen7-mgah-b)",
}
AN4_TEST = {  # the real test transcription has no <s> markers
    "an4test_clstk/fcaw/an406-fcaw-b": "RUBOUT G M E F THREE NINE (an406-fcaw-b)",
    "an4test_clstk/fcaw/an407-fcaw-b": "ERASE C Q Q F SEVEN (an407-fcaw-b)",
}


def write_an4_etc(etc: Path) -> None:
    etc.mkdir(parents=True, exist_ok=True)
    for split, lines in (("train", AN4_TRAIN), ("test", AN4_TEST)):
        (etc / f"an4_{split}.fileids").write_text("".join(f"{f}\n" for f in lines))
        (etc / f"an4_{split}.transcription").write_text("".join(f"{t}\n" for t in lines.values()))


def make_an4(root: Path) -> Path:
    write_an4_etc(root / "etc")
    for fileid in [*AN4_TRAIN, *AN4_TEST]:
        write_tone(root / "wav" / f"{fileid}.wav", 16000)
    return root


# --- LibriSpeech ----------------------------------------------------------------------------------

LIBRI_TEXT = "HE HOPED THERE WOULD BE STEW FOR DINNER"
LIBRI_SPEAKERS = {  # subset -> {speaker: chapters}
    "train-clean-100": {"19": ["198", "227"], "26": ["495"]},
    "dev-clean": {"84": ["121123"]},
    "test-clean": {"1089": ["134686"], "121": ["121726"]},
    "train-clean-360": {"100": ["121669"]},
}


def make_librispeech(parent: Path, utterances: int = 2) -> Path:
    folder = parent / "LibriSpeech"
    for subset, speakers in LIBRI_SPEAKERS.items():
        for speaker, chapters in speakers.items():
            for chapter in chapters:
                chapter_folder = folder / subset / speaker / chapter
                lines = []
                for index in range(utterances):
                    utterance = f"{speaker}-{chapter}-{index:04d}"
                    write_tone(chapter_folder / f"{utterance}.flac", 16000)
                    lines.append(f"{utterance} {LIBRI_TEXT} {index}\n")
                (chapter_folder / f"{speaker}-{chapter}.trans.txt").write_text("".join(lines))
    (folder / "SPEAKERS.TXT").write_text("; speakers\n")
    return parent


# --- LJ Speech ------------------------------------------------------------------------------------

LJ_CLIPS = 20


def make_ljspeech(parent: Path) -> Path:
    folder = parent / "LJSpeech-1.1"
    lines = []
    for index in range(1, LJ_CLIPS + 1):
        clip = f"LJ001-{index:04d}"
        write_tone(folder / "wavs" / f"{clip}.wav", 22050, seconds=0.02)
        # Quotes are literal in metadata.csv, and may be unbalanced within one line.
        lines.append(
            f'{clip}|"Mr. Smith", in 1820, said "hi {index}|"Mister Smith", said "hi {index}\n'
        )
    (folder / "metadata.csv").write_text("".join(lines), encoding="utf-8")
    (folder / "README").write_text("LJ Speech\n")
    return parent


# Dataset name -> a function from an empty folder to the `--root` to prepare.
LAYOUTS: dict[str, Callable[[Path], Path]] = {
    "fsdd": lambda folder: make_fsdd(folder / "free-spoken-digit-dataset"),
    "speech_commands": lambda folder: make_speech_commands(folder / "speech_commands"),
    "imdb": lambda folder: make_imdb(folder / "imdb"),
    "ag_news": lambda folder: make_ag_news(folder / "ag_news_csv"),
    "conll2003": lambda folder: make_conll2003(folder / "conll2003"),
    "an4": lambda folder: make_an4(folder / "an4"),
    "librispeech": make_librispeech,
    "ljspeech": make_ljspeech,
}
