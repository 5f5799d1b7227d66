"""The bad-input corpus: broken inputs across every task and command, each with the outcome it
must get, as data. `tests/test_bad_input_corpus.py` runs them; `docs/bad_inputs.md` is the
table of them (`python -m tests.bad_inputs > docs/bad_inputs.md` writes it).

Outcomes:
- error: one line naming the file, row, key or path, and exit status 2 (no traceback);
- warned: the command does its job (exit 0) and prints a warning line saying what is wrong;
- handled: the command does its job (exit 0): the input is read correctly.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile
import yaml

from tests.tiny_data import ASSETS, REPO, TINY_RECIPE, subset_manifest


@dataclass(frozen=True)
class Case:
    """One broken input: what it is, the command it goes to, and the outcome it must get."""

    name: str
    what: str
    command: str
    outcome: str  # "error", "warned" or "handled"
    arguments: Callable[[Workspace], list[str]]
    expect: tuple[str, ...] = ()  # fragments of the error or warning line


class Workspace:
    """A folder of inputs and trained runs for the cases, each made the first time it is
    needed."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.outputs = 0

    def new_output(self) -> str:
        """A run directory no other case uses."""
        self.outputs += 1
        return str(self.path(f"out_{self.outputs}"))

    def path(self, name: str) -> Path:
        return self.folder / name

    # Trained runs ------------------------------------------------------------------

    @cached_property
    def audio_recipe(self) -> Path:
        folder = self.path("audio")
        folder.mkdir()
        train = subset_manifest("train", ["0", "1", "2"], 4, folder)
        test = subset_manifest("test", ["0", "1", "2"], 2, folder)
        recipe = folder / "tiny.yaml"
        recipe.write_text(TINY_RECIPE.format(train=train.name, test=test.name))
        return recipe

    @cached_property
    def audio_run(self) -> Path:
        return self.train(str(self.audio_recipe), "audio_run")

    @cached_property
    def text_run(self) -> Path:
        folder = self.path("text")
        folder.mkdir()
        reviews = REPO / "assets" / "text_reviews"
        pd.read_csv(reviews / "train.csv").head(60).to_csv(folder / "train.csv", index=False)
        pd.read_csv(reviews / "test.csv").head(10).to_csv(folder / "test.csv", index=False)
        return self.train(
            "text_classification/tiny_reviews",
            "text_run",
            f"data.train={folder / 'train.csv'}",
            f"data.test={folder / 'test.csv'}",
        )

    @cached_property
    def tagging_run(self) -> Path:
        return self.train("sequence_tagging/tiny_entities", "tagging_run")

    @cached_property
    def speech_run(self) -> Path:
        folder = self.path("speech")
        folder.mkdir()
        phrases = REPO / "assets" / "tts_phrases"
        for split, rows in (("train", 24), ("test", 4)):
            table = pd.read_csv(phrases / f"{split}.csv").head(rows)
            table = table.assign(audio=[str(phrases / path) for path in table["audio"]])
            table.to_csv(folder / f"{split}.csv", index=False)
        return self.train(
            "speech_recognition/tts_phrases",
            "speech_run",
            f"data.train={folder / 'train.csv'}",
            f"data.test={folder / 'test.csv'}",
            "model.prolog_channels=16",
            "model.block_channels=[16]",
            "model.block_kernel_sizes=[5]",
            "model.epilog_channels=16",
            "model.epilog_kernel_size=5",
            "model.final_channels=16",
            "features.num_mel_bins=16",
            "task.beam_width=2",
        )

    def train(self, recipe: str, name: str, *settings: str) -> Path:
        import toolkit

        run_dir = self.path(name)
        overrides = ["train.epochs=1", "train.batch_size=8", "train.verbose=0", *settings]
        toolkit.run(recipe, overrides, run_dir, device="cpu")
        return run_dir

    # Inputs ------------------------------------------------------------------------

    @cached_property
    def clip(self) -> np.ndarray:
        """A spoken digit at 16 kHz."""
        samples, _ = soundfile.read(ASSETS / pd.read_csv(ASSETS / "test.csv")["audio"][0])
        return samples.astype("float32")

    def wav(
        self, name: str, samples: np.ndarray | None = None, rate: int = 16000, **options
    ) -> str:
        path = self.path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        soundfile.write(path, self.clip if samples is None else samples, rate, **options)
        return str(path)

    def file(self, name: str, content: bytes | str) -> str:
        path = self.path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        path.write_bytes(content)
        return str(path)

    def folder_named(self, name: str) -> str:
        path = self.path(name)
        path.mkdir(parents=True, exist_ok=True)
        return str(path)

    def audio_manifest(
        self, name: str, rows: list[dict] | None = None, text: str | None = None
    ) -> str:
        """A training manifest of the tiny audio recipe's clips (absolute paths), with `rows`
        added, or `text` as the whole file."""
        if text is not None:
            return self.file(name, text)
        table = pd.read_csv(self.audio_recipe.parent / "train.csv")
        table = table.assign(audio=[str(self.audio_recipe.parent / p) for p in table["audio"]])
        table = pd.concat([table, pd.DataFrame(rows or [])], ignore_index=True)
        path = self.path(name)
        table.to_csv(path, index=False)
        return str(path)

    def train_with(self, manifest: str, *settings: str) -> list[str]:
        """`toolkit run` of the tiny audio recipe on `manifest`."""
        return self.run_recipe(str(self.audio_recipe), manifest, *settings)

    def text_train_with(self, manifest: str) -> list[str]:
        return self.run_recipe("text_classification/tiny_reviews", manifest)

    def tagging_train_with(self, conll: str) -> list[str]:
        return self.run_recipe("sequence_tagging/tiny_entities", conll)

    def speech_train_with(self, manifest: str, *settings: str) -> list[str]:
        return self.run_recipe("speech_recognition/tts_phrases", manifest, *settings)

    def run_recipe(self, recipe: str, train: str, *settings: str) -> list[str]:
        """`toolkit run RECIPE` for one epoch on the training data `train`, into a new folder."""
        arguments = ["run", recipe, "--output", self.new_output()]
        for setting in (f"data.train={train}", "train.epochs=1", "export.enabled=false", *settings):
            arguments += ["--set", setting]
        return arguments

    def recipe(self, name: str, text: str) -> str:
        return self.file(name, text)

    def predict_audio(self, *paths: str) -> list[str]:
        return ["predict", str(self.audio_run), *paths]

    def predict_text(self, *texts: str) -> list[str]:
        return ["predict", str(self.text_run), *texts]

    def phrases_manifest(self, name: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> str:
        phrases = REPO / "assets" / "tts_phrases"
        table = pd.read_csv(phrases / "train.csv").head(24)
        table = change(table.assign(audio=[str(phrases / p) for p in table["audio"]]))
        path = self.path(name)
        table.to_csv(path, index=False)
        return str(path)

    def reviews_csv(self, name: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> str:
        table = pd.read_csv(REPO / "assets" / "text_reviews" / "train.csv").head(60)
        path = self.path(name)
        change(table).to_csv(path, index=False)
        return str(path)

    def entities(self, name: str, change: Callable[[str], str]) -> str:
        text = (REPO / "assets" / "text_entities" / "train.conll").read_text()
        return self.file(name, change(text))

    def run_without_data(self) -> Path:
        """A copy of the audio run whose recipe points at a training manifest that is gone."""
        copy = self.copy_of(self.audio_run, f"no_data_{self.outputs}")
        recipe = copy / "recipe.resolved.yaml"
        blocks = yaml.safe_load(recipe.read_text())
        blocks["data"]["train"] = str(self.path("gone_train.csv"))
        recipe.write_text(yaml.safe_dump(blocks))
        return copy

    def speech_run_without_lm(self) -> Path:
        copy = self.copy_of(self.speech_run, f"no_lm_{self.outputs}")
        (copy / "lm.arpa").unlink()
        return copy

    def copy_of(self, run: Path, name: str) -> Path:
        target = self.path(name)
        shutil.copytree(run, target)
        return target


def pcm(workspace: Workspace, name: str, subtype: str, rate: int = 16000, channels: int = 1) -> str:
    samples = workspace.clip if channels == 1 else np.stack([workspace.clip] * channels, axis=1)
    if rate != 16000:
        import soxr

        samples = soxr.resample(samples, 16000, rate)
    return workspace.wav(name, samples, rate, subtype=subtype)


def float_wav(workspace: Workspace, name: str, value: float) -> str:
    samples = workspace.clip.copy()
    samples[1000] = value
    return workspace.wav(name, samples, subtype="FLOAT")


def with_euro(table: pd.DataFrame) -> pd.DataFrame:
    """The first transcript with a euro sign, a character no training transcript has."""
    first = table["transcript"][0] + " 5€"
    return table.assign(transcript=[first, *table["transcript"][1:]])


def first_conll_line(text: str, change: Callable[[list[str]], list[str]]) -> str:
    """The CoNLL text with its first token line's columns changed."""
    lines = text.splitlines()
    index = next(
        i for i, line in enumerate(lines) if line.strip() and not line.startswith("-DOCSTART-")
    )
    lines[index] = " ".join(change(lines[index].split()))
    return "\n".join(lines) + "\n"


W = Workspace
CASES: list[Case] = [
    # Audio files, given to `toolkit predict` on a keyword spotter ----------------------
    Case(
        "truncated_header",
        "WAV cut inside its header",
        "predict",
        "error",
        lambda w: w.predict_audio(w.file("cut.wav", Path(w.wav("whole.wav")).read_bytes()[:30])),
        ("cut.wav",),
    ),
    Case(
        "zero_length",
        "zero-length file",
        "predict",
        "error",
        lambda w: w.predict_audio(w.file("empty.wav", b"")),
        ("empty.wav",),
    ),
    Case(
        "text_as_wav",
        "a text file named .wav",
        "predict",
        "error",
        lambda w: w.predict_audio(w.file("notes.wav", "just some text\n" * 20)),
        ("notes.wav", "cannot"),
    ),
    Case(
        "nan_samples",
        "float WAV with a NaN sample",
        "predict",
        "error",
        lambda w: w.predict_audio(float_wav(w, "nan.wav", np.nan)),
        ("nan.wav", "NaN"),
    ),
    Case(
        "infinite_samples",
        "float WAV with an infinite sample",
        "predict",
        "error",
        lambda w: w.predict_audio(float_wav(w, "inf.wav", np.inf)),
        ("inf.wav", "infinite"),
    ),
    Case(
        "huge_samples",
        "float WAV with a sample of 1e30 (unscaled)",
        "predict",
        "error",
        lambda w: w.predict_audio(float_wav(w, "huge.wav", 1e30)),
        ("huge.wav", "[-1, 1]"),
    ),
    Case(
        "pcm_8bit",
        "8-bit PCM WAV",
        "predict",
        "handled",
        lambda w: w.predict_audio(pcm(w, "u8.wav", "PCM_U8")),
    ),
    Case(
        "pcm_24bit",
        "24-bit PCM WAV",
        "predict",
        "handled",
        lambda w: w.predict_audio(pcm(w, "s24.wav", "PCM_24")),
    ),
    Case(
        "pcm_32bit",
        "32-bit PCM WAV",
        "predict",
        "handled",
        lambda w: w.predict_audio(pcm(w, "s32.wav", "PCM_32")),
    ),
    Case(
        "float_32bit",
        "32-bit float WAV",
        "predict",
        "handled",
        lambda w: w.predict_audio(pcm(w, "f32.wav", "FLOAT")),
    ),
    Case(
        "stereo",
        "stereo WAV (mixed down)",
        "predict",
        "handled",
        lambda w: w.predict_audio(pcm(w, "stereo.wav", "PCM_16", channels=2)),
    ),
    Case(
        "rate_8k",
        "8 kHz WAV for a 16 kHz model (resampled)",
        "predict",
        "handled",
        lambda w: w.predict_audio(pcm(w, "8k.wav", "PCM_16", rate=8000)),
    ),
    Case(
        "rate_48k",
        "48 kHz WAV for a 16 kHz model (resampled)",
        "predict",
        "handled",
        lambda w: w.predict_audio(pcm(w, "48k.wav", "PCM_16", rate=48000)),
    ),
    Case(
        "ten_minutes",
        "a 10-minute recording given to a 1 s classifier",
        "predict",
        "warned",
        lambda w: w.predict_audio(
            w.wav("long.wav", np.tile(w.clip, 600 * 16000 // len(w.clip) + 1))
        ),
        ("long.wav", "one 1.00 s clip"),
    ),
    Case(
        "ten_ms",
        "a 10 ms clip",
        "predict",
        "warned",
        lambda w: w.predict_audio(w.wav("short.wav", w.clip[4000:4160])),
        ("short.wav", "10 ms"),
    ),
    Case(
        "silence",
        "digital silence",
        "predict",
        "warned",
        lambda w: w.predict_audio(w.wav("silent.wav", np.zeros(16000, "float32"))),
        ("silent.wav", "silent"),
    ),
    Case(
        "missing_audio",
        "a file that does not exist",
        "predict",
        "error",
        lambda w: w.predict_audio(str(w.path("nowhere.wav"))),
        ("nowhere.wav", "no such file"),
    ),
    Case(
        "empty_folder",
        "a folder with no audio in it",
        "predict",
        "error",
        lambda w: w.predict_audio(w.folder_named("no_audio")),
        ("no_audio", "no audio files"),
    ),
    Case(
        "spaces_unicode",
        "a path with spaces and non-ASCII characters",
        "predict",
        "handled",
        lambda w: w.predict_audio(w.wav("dossier à part/clip ñ 1.wav")),
    ),
    Case(
        "text_to_audio_model",
        "a .txt file given to an audio model",
        "predict",
        "error",
        lambda w: w.predict_audio(w.file("lines.txt", "hello\n")),
        ("lines.txt",),
    ),
    # Audio manifests, through `toolkit run` ------------------------------------------
    Case(
        "missing_column",
        "CSV without the audio column",
        "run",
        "error",
        lambda w: w.train_with(w.audio_manifest("nocol.csv", text="path,label\na.wav,1\n")),
        ("nocol.csv", "no column 'audio'"),
    ),
    Case(
        "extra_columns",
        "CSV with extra columns",
        "run",
        "handled",
        lambda w: w.train_with(
            w.audio_manifest(
                "extra.csv",
                [
                    {
                        "audio": str(ASSETS / pd.read_csv(ASSETS / "train.csv")["audio"][0]),
                        "label": "0",
                        "notes": "x",
                    }
                ],
            )
        ),
    ),
    Case(
        "row_missing_file",
        "a row whose audio file is missing",
        "run",
        "error",
        lambda w: w.train_with(
            w.audio_manifest("missing.csv", [{"audio": "gone.wav", "label": "1"}])
        ),
        ("missing.csv row 13", "gone.wav"),
    ),
    Case(
        "row_is_folder",
        "a row whose audio path is a folder",
        "run",
        "error",
        lambda w: w.train_with(
            w.audio_manifest("folder.csv", [{"audio": w.folder_named("a_dir"), "label": "1"}])
        ),
        ("folder.csv row 13", "a_dir"),
    ),
    Case(
        "row_nan_wav",
        "a row whose WAV holds NaN samples",
        "run",
        "error",
        lambda w: w.train_with(
            w.audio_manifest(
                "nanrow.csv", [{"audio": float_wav(w, "nan_row.wav", np.nan), "label": "1"}]
            )
        ),
        ("nanrow.csv row 13", "NaN"),
    ),
    Case(
        "empty_label",
        "a row with an empty label",
        "run",
        "error",
        lambda w: w.train_with(
            w.audio_manifest("nolabel.csv", [{"audio": w.wav("l.wav"), "label": ""}])
        ),
        ("nolabel.csv row 13", "empty label"),
    ),
    Case(
        "skip_bad_rows",
        "bad rows with data.on_error=skip",
        "run",
        "warned",
        lambda w: w.train_with(
            w.audio_manifest("skip.csv", [{"audio": "gone.wav", "label": "1"}]),
            "data.on_error=skip",
        ),
        ("skipped 1 bad rows",),
    ),
    Case(
        "bom_crlf",
        "CSV with a byte-order mark and CRLF line ends",
        "run",
        "handled",
        lambda w: w.train_with(
            w.file(
                "bom.csv",
                "\ufeff" + Path(w.audio_manifest("plain.csv")).read_text().replace("\n", "\r\n"),
            )
        ),
    ),
    Case(
        "not_utf8",
        "manifest bytes that are not UTF-8",
        "run",
        "error",
        lambda w: w.train_with(
            w.file(
                "latin.csv", Path(w.audio_manifest("base.csv")).read_bytes() + b"caf\xe9.wav,1\n"
            )
        ),
        ("latin.csv line 14", "not UTF-8"),
    ),
    Case(
        "tsv_as_csv",
        "tab-separated content in a .csv file",
        "run",
        "error",
        lambda w: w.train_with(w.file("tabs.csv", "audio\tlabel\na.wav\t1\n")),
        ("tabs.csv",),
    ),
    Case(
        "jsonl_null_label",
        "JSONL row with a null label",
        "run",
        "error",
        lambda w: w.train_with(
            w.file(
                "null.jsonl",
                "".join(
                    json.dumps({"audio": str(w.audio_recipe.parent / p), "label": label}) + "\n"
                    for p, label in pd.read_csv(w.audio_recipe.parent / "train.csv").to_numpy()[
                        :, :2
                    ]
                )
                + json.dumps({"audio": w.wav("n.wav"), "label": None})
                + "\n",
            )
        ),
        ("null.jsonl row 13", "empty label"),
    ),
    Case(
        "unseen_test_label",
        "a test label the training split never had",
        "run",
        "error",
        lambda w: w.train_with(
            w.audio_manifest("train_ok.csv"),
            f"data.test={w.audio_manifest('test_new.csv', [{'audio': w.wav('t.wav'), 'label': 'seven'}])}",
        ),
        ("seven",),
    ),
    # Text and tagging data -------------------------------------------------------------
    Case(
        "quoted_newlines",
        "CSV texts with quoted newlines",
        "run",
        "handled",
        lambda w: w.text_train_with(
            w.reviews_csv("newlines.csv", lambda t: t.assign(text=t["text"] + "\nsecond line"))
        ),
    ),
    Case(
        "text_empty",
        "a text row that is empty",
        "run",
        "error",
        lambda w: w.text_train_with(
            w.reviews_csv("emptytext.csv", lambda t: t.assign(text=[""] + list(t["text"][1:])))
        ),
        ("emptytext.csv row 1",),
    ),
    Case(
        "conll_columns",
        "a CoNLL line with the wrong column count",
        "run",
        "error",
        lambda w: w.tagging_train_with(
            w.entities("cols.conll", lambda text: first_conll_line(text, lambda c: c + ["extra"]))
        ),
        ("cols.conll", "line"),
    ),
    Case(
        "conllu_multiword",
        "CoNLL-U with multiword-token and empty-node lines",
        "run",
        "handled",
        lambda w: (
            w.tagging_train_with(treebank := w.file("treebank.conllu", CONLLU * 8))
            + ["--set", "task.tag_column=3", "--set", f"data.valid={treebank}"]
            + ["--set", f"data.test={treebank}"]
        ),
    ),
    # Speech recognition data ------------------------------------------------------------
    Case(
        "empty_transcript",
        "an utterance with an empty transcript",
        "run",
        "error",
        lambda w: w.speech_train_with(
            w.phrases_manifest(
                "notext.csv", lambda t: t.assign(transcript=[""] + list(t["transcript"][1:]))
            )
        ),
        ("notext.csv row 1",),
    ),
    Case(
        "outside_alphabet",
        "test transcripts with characters outside the alphabet",
        "run",
        "error",
        lambda w: w.speech_train_with(
            w.phrases_manifest("plain.csv", lambda t: t),
            f"data.test={w.phrases_manifest('euro.csv', with_euro)}",
        ),
        ("test", "outside the alphabet", "€", "euro.csv row 1"),
    ),
    Case(
        "outside_alphabet_dropped",
        "the same with task.unknown_characters=drop",
        "run",
        "warned",
        lambda w: w.speech_train_with(
            w.phrases_manifest("plain2.csv", lambda t: t),
            f"data.test={w.phrases_manifest('euro2.csv', with_euro)}",
            "task.unknown_characters=drop",
        ),
        ("removed characters outside the alphabet", "€"),
    ),
    # Recipes and settings ----------------------------------------------------------------
    Case(
        "unknown_key",
        "recipe with an unknown key",
        "run",
        "error",
        lambda w: ["run", str(w.audio_recipe), "--set", "train.epoch=3"],
        ("train.epoch",),
    ),
    Case(
        "wrong_type",
        "recipe value of the wrong type",
        "run",
        "error",
        lambda w: ["run", str(w.audio_recipe), "--set", "train.batch_size=big"],
        ("train.batch_size",),
    ),
    Case(
        "baseline_without_one",
        "train.baseline on a task that has no baseline (speech recognition)",
        "run",
        "error",
        lambda w: (
            ["run", "speech_recognition/tts_phrases", "--output", w.new_output()]
            + ["--set", "train.baseline=report"]
        ),
        ("train.baseline", "speech_recognition"),
    ),
    Case(
        "baseline_unknown_mode",
        "train.baseline set to a mode that does not exist",
        "run",
        "error",
        lambda w: (
            ["run", str(w.audio_recipe), "--output", w.new_output()]
            + ["--set", "train.baseline=best"]
        ),
        ("train.baseline", "best"),
    ),
    Case(
        "tune_without_a_space",
        "toolkit tune on a recipe without a tune block",
        "tune",
        "error",
        lambda w: ["tune", "text_classification/tiny_reviews", "--output", w.new_output()],
        ("no tune block",),
    ),
    Case(
        "tune_unknown_key",
        "a tune space naming a key the recipe does not have",
        "tune",
        "error",
        lambda w: (
            ["tune", "text_classification/tiny_reviews", "--output", w.new_output()]
            + ["--set", "tune.space={model.embeding_dim: [4, 8]}"]
        ),
        ("tune.space", "embeding_dim"),
    ),
    Case(
        "tune_range_of_words",
        "a tune range whose ends are not numbers",
        "tune",
        "error",
        lambda w: (
            ["tune", "text_classification/tiny_reviews", "--output", w.new_output()]
            + ["--set", "tune.space={train.learning_rate: {min: low, max: high}}"]
        ),
        ("tune.space.train.learning_rate", "min and max must be numbers"),
    ),
    Case(
        "tune_budget_too_small",
        "a tune budget too small for one trial",
        "tune",
        "error",
        lambda w: (
            ["tune", "text_classification/tiny_reviews", "--output", w.new_output()]
            + ["--budget", "0.0001", "--set", "tune.space={train.learning_rate: [0.001, 0.01]}"]
        ),
        ("--budget 0.0001 minutes", "before the first trial finished"),
    ),
    Case(
        "tab_indentation",
        "YAML indented with a tab",
        "run",
        "error",
        lambda w: ["run", w.recipe("tab.yaml", "task:\n\ttype: audio_classification\n")],
        ("tab.yaml", "line 2"),
    ),
    Case(
        "unclosed_brace",
        "YAML with an unclosed {",
        "run",
        "error",
        lambda w: ["run", w.recipe("brace.yaml", "task: {type: audio_classification\n")],
        ("brace.yaml", "line 2"),
    ),
    Case(
        "not_a_mapping",
        "a recipe that is a list, not a mapping",
        "run",
        "error",
        lambda w: ["run", w.recipe("list.yaml", "- task\n- data\n")],
        ("list.yaml", "mapping"),
    ),
    Case(
        "empty_recipe",
        "an empty recipe file",
        "run",
        "error",
        lambda w: ["run", w.recipe("empty.yaml", "")],
        ("empty.yaml", "task.type"),
    ),
    Case(
        "malformed_set",
        "a --set without '='",
        "run",
        "error",
        lambda w: ["run", str(w.audio_recipe), "--set", "train.epochs"],
        ("train.epochs",),
    ),
    Case(
        "recipe_missing_data",
        "a recipe pointing at a missing manifest",
        "run",
        "error",
        lambda w: w.train_with(str(w.path("no_such.csv"))),
        ("no_such.csv", "not found"),
    ),
    Case(
        "batch_size_zero",
        "train.batch_size=0",
        "run",
        "error",
        lambda w: w.train_with(w.audio_manifest("b0.csv"), "train.batch_size=0"),
        ("train.batch_size",),
    ),
    Case(
        "nan_learning_rate",
        "train.learning_rate=.nan",
        "run",
        "error",
        lambda w: w.train_with(w.audio_manifest("nan_lr.csv"), "train.learning_rate=.nan"),
        ("train.learning_rate", "finite"),
    ),
    # Output paths ---------------------------------------------------------------------------
    Case(
        "run_output_under_file",
        "run --output under a regular file",
        "run",
        "error",
        lambda w: ["run", str(w.audio_recipe), "--output", w.file("plain_file", "x") + "/run"],
        ("plain_file",),
    ),
    Case(
        "export_output_under_file",
        "export --output under a regular file",
        "export",
        "error",
        lambda w: ["export", str(w.audio_run), "--output", w.file("plain_file2", "x") + "/model"],
        ("plain_file2",),
    ),
    Case(
        "predict_output_under_file",
        "predict --output under a regular file",
        "predict",
        "error",
        lambda w: [
            "predict",
            str(w.audio_run),
            w.wav("p.wav"),
            "--output",
            w.file("plain_file3", "x") + "/p.csv",
        ],
        ("plain_file3",),
    ),
    Case(
        "finished_run_folder",
        "run --output into a folder with a finished run",
        "run",
        "error",
        lambda w: ["run", str(w.audio_recipe), "--output", str(w.copy_of(w.audio_run, "finished"))],
        ("finished", "--force"),
    ),
    Case(
        "foreign_folder",
        "run --output into a folder of other files",
        "run",
        "error",
        lambda w: [
            "run",
            str(w.audio_recipe),
            "--output",
            str(Path(w.file("mine/notes.txt", "x")).parent),
        ],
        ("mine", "not empty"),
    ),
    Case(
        "export_exists",
        "export over an existing export without --force",
        "export",
        "error",
        lambda w: ["export", str(w.audio_run)],
        ("--force",),
    ),
    Case(
        "export_litert_text",
        "a LiteRT export of a text classifier (a format the task cannot produce)",
        "export",
        "error",
        lambda w: ["export", str(w.text_run), "--format", "litert", "-o", w.new_output()],
        ("litert", "not available for this task"),
    ),
    Case(
        "export_quantized_saved_model",
        "--quantize int8 with the SavedModel format",
        "export",
        "error",
        lambda w: ["export", str(w.audio_run), "--quantize", "int8", "-o", w.new_output()],
        ("--quantize int8", "--format litert"),
    ),
    Case(
        "export_int8_without_data",
        "int8 LiteRT export of a run whose training data is gone (no calibration data)",
        "export",
        "error",
        lambda w: [
            "export",
            str(w.run_without_data()),
            "--format",
            "litert",
            "--quantize",
            "int8",
            "-o",
            w.new_output(),
        ],
        ("--quantize int8", "training data"),
    ),
    Case(
        "evaluate_decoder_without_lm",
        "evaluate --decoder beam_lm on a speech run without a language model",
        "evaluate",
        "error",
        lambda w: ["evaluate", str(w.speech_run_without_lm()), "--decoder", "beam_lm"],
        ("--decoder beam_lm", "no language model"),
    ),
    Case(
        "evaluate_decoder_classifier",
        "evaluate --decoder on an audio classifier",
        "evaluate",
        "error",
        lambda w: ["evaluate", str(w.audio_run), "--decoder", "greedy"],
        ("--decoder", "audio_classification"),
    ),
    Case(
        "detect_not_audio",
        "detect on a text file named .wav",
        "detect",
        "error",
        lambda w: ["detect", str(w.audio_run), w.file("talk.wav", "just some text\n" * 20)],
        ("talk.wav", "cannot"),
    ),
    Case(
        "detect_text_model",
        "detect with a text classifier",
        "detect",
        "error",
        lambda w: ["detect", str(w.text_run), w.wav("speech.wav")],
        ("detection needs an audio classifier", "text_classification"),
    ),
    Case(
        "detect_output_format",
        "detect --output to a .txt file",
        "detect",
        "error",
        lambda w: ["detect", str(w.audio_run), w.wav("speech.wav"), "-o", "found.txt"],
        ("found.txt", ".csv or .json"),
    ),
    Case(
        "detect_hop_longer_than_clip",
        "detect --hop-ms longer than the classifier's clip",
        "detect",
        "error",
        lambda w: ["detect", str(w.audio_run), w.wav("speech.wav"), "--hop-ms", "5000"],
        ("hop 5000 ms", "at most the clip"),
    ),
    Case(
        "detect_settings_of_saved_model",
        "detect with a SavedModel and a threshold other than the one it was exported with",
        "detect",
        "error",
        lambda w: [
            "detect",
            str(w.audio_run / "export" / "saved_model"),
            w.wav("speech.wav"),
            "--threshold",
            "0.9",
        ],
        ("threshold 0.34", "run directory"),
    ),
    # Language models and data preparation ---------------------------------------------
    Case(
        "lm_not_utf8",
        "lm build on text that is not UTF-8",
        "lm build",
        "error",
        lambda w: [
            "lm",
            "build",
            w.file("corpus.txt", b"hello\n\xff\xfe\n"),
            "-o",
            str(w.path("lm.arpa")),
        ],
        ("corpus.txt", "line 2"),
    ),
    Case(
        "lm_output_under_file",
        "lm build -o under a regular file",
        "lm build",
        "error",
        lambda w: [
            "lm",
            "build",
            w.file("ok.txt", "hello world\n"),
            "-o",
            w.file("plain_file4", "x") + "/lm.arpa",
        ],
        ("plain_file4",),
    ),
    Case(
        "prepare_unknown_option",
        "data prepare with an unknown --option",
        "data prepare",
        "error",
        lambda w: [
            "data",
            "prepare",
            "fsdd",
            "--root",
            w.folder_named("fsdd_root"),
            "--option",
            "nope=1",
            "--output",
            str(w.path("m")),
        ],
        ("--option nope",),
    ),
    Case(
        "prepare_wrong_layout",
        "data prepare on a folder that is not the dataset",
        "data prepare",
        "error",
        lambda w: [
            "data",
            "prepare",
            "an4",
            "--root",
            w.folder_named("not_an4"),
            "--output",
            str(w.path("m2")),
        ],
        ("not_an4",),
    ),
    Case(
        "check_nan_wav",
        "data check on a manifest with a NaN WAV",
        "data check",
        "error",
        lambda w: [
            "data",
            "check",
            str(w.audio_recipe),
            "--set",
            f"data.train={w.audio_manifest('nan_check.csv', [{'audio': float_wav(w, 'nan_check.wav', np.nan), 'label': '1'}])}",
        ],
        ("nan_check", "NaN"),
    ),
    # Text models at prediction -----------------------------------------------------------
    Case(
        "text_missing_file",
        "a missing file name given to a text model",
        "predict",
        "error",
        lambda w: w.predict_text("missing.txt"),
        ("missing.txt", "no such file"),
    ),
    Case(
        "text_given_wav",
        "a WAV file given to a text model",
        "predict",
        "error",
        lambda w: w.predict_text(w.wav("speech.wav")),
        ("speech.wav", "audio file"),
    ),
    Case(
        "text_manifest_null",
        "a prediction manifest with a null text",
        "predict",
        "error",
        lambda w: w.predict_text(w.file("texts.jsonl", '{"text": "fine"}\n{"text": null}\n')),
        ("texts.jsonl row 2",),
    ),
    # Fine-tuning -----------------------------------------------------------------------------
    Case(
        "finetune_missing_source",
        "finetune from a source that does not exist",
        "finetune",
        "error",
        lambda w: ["finetune", str(w.path("no_run")), "--data", w.audio_manifest("ft.csv")],
        ("no_run",),
    ),
    Case(
        "finetune_from_a_baseline",
        "fine-tuning from a baseline's model file",
        "finetune",
        "error",
        lambda w: ["finetune", w.file("run/baseline/model.keras", "not read"), "--data", "x.csv"],
        ("baseline/model.keras", "linear baseline has no backbone"),
    ),
    Case(
        "finetune_wrong_kind",
        "finetune an audio model on a text manifest",
        "finetune",
        "error",
        lambda w: [
            "finetune",
            str(w.audio_run),
            "--data",
            str(REPO / "assets" / "text_reviews" / "train.csv"),
        ],
        ("train.csv",),
    ),
    Case(
        "finetune_vocabulary_audio",
        "finetune --extend-vocabulary on an audio model",
        "finetune",
        "error",
        lambda w: [
            "finetune",
            str(w.audio_run),
            "--data",
            w.audio_manifest("ftv.csv"),
            "--extend-vocabulary",
        ],
        ("extend",),
    ),
    Case(
        "models_show_unknown",
        "models show with a name that is not a bundled model",
        "models show",
        "error",
        lambda w: ["models", "show", "speech_wrds"],
        ("speech_wrds", "speech_words"),
    ),
    Case(
        "models_build_unknown",
        "models build with a name that is not a bundled model",
        "models build",
        "error",
        lambda w: ["models", "build", "nope"],
        ("nope", "speech_words"),
    ),
    Case(
        "evaluate_not_a_run",
        "evaluate a folder that is not a run",
        "evaluate",
        "error",
        lambda w: ["evaluate", w.folder_named("plain_folder")],
        ("plain_folder", "not a trained run"),
    ),
]


@dataclass(frozen=True)
class SignatureCase:
    """Bytes sent to a SavedModel's `wav_bytes` signature from plain TensorFlow (no toolkit):
    an InvalidArgumentError whose message names the item and the problem."""

    name: str
    what: str
    items: Callable[[], list[bytes]]
    expect: tuple[str, ...]


def wav_bytes(subtype: str = "PCM_16", seconds: float = 1.0) -> bytes:
    buffer = io.BytesIO()
    samples = np.full(int(16000 * seconds), 0.1, "float32")
    soundfile.write(buffer, samples, 16000, format="WAV", subtype=subtype)
    return buffer.getvalue()


SIGNATURE_CASES: list[SignatureCase] = [
    SignatureCase("empty_bytes", "empty bytes", lambda: [b""], ("item 1", "not a WAV file")),
    SignatureCase(
        "garbage_bytes", "garbage bytes", lambda: [b"not audio " * 20], ("item 1", "not a WAV file")
    ),
    SignatureCase(
        "truncated_bytes",
        "a WAV cut inside its header",
        lambda: [wav_bytes()[:20]],
        ("item 1", "not a WAV file"),
    ),
    SignatureCase(
        "pcm24_bytes",
        "24-bit PCM WAV",
        lambda: [wav_bytes("PCM_24")],
        ("item 1", "24-bit", "16-bit PCM"),
    ),
    SignatureCase(
        "float_bytes",
        "32-bit float WAV",
        lambda: [wav_bytes("FLOAT")],
        ("item 1", "32-bit", "16-bit PCM"),
    ),
    SignatureCase(
        "cut_short_bytes",
        "a WAV whose data chunk is cut short",
        lambda: [wav_bytes()[:-500]],
        ("item 1", "cut short"),
    ),
    SignatureCase(
        "one_bad_in_batch",
        "a batch of three with one that is not a WAV",
        lambda: [wav_bytes(), b"xx", wav_bytes()],
        ("item 2", "not a WAV file"),
    ),
]


CONLLU = """# sent_id = 1
1-2\tvámonos\t_\t_\t_\t_\t_\t_\t_\t_
1\tvamos\tir\tVERB\t_\t_\t0\troot\t_\t_
2\tnos\tnosotros\tPRON\t_\t_\t1\tobj\t_\t_
2.1\telided\t_\tNOUN\t_\t_\t_\t_\t0:root\t_
3\tya\tya\tADV\t_\t_\t1\tadvmod\t_\t_

"""


def markdown() -> str:
    """The corpus as the table in docs/bad_inputs.md."""
    counts = {
        outcome: sum(case.outcome == outcome for case in CASES)
        for outcome in ("error", "warned", "handled")
    }
    lines = [
        "# Bad input: what each broken input gets",
        "",
        "Generated from `tests/bad_inputs.py` by `python -m tests.bad_inputs`; every row is run "
        "by `tests/test_bad_input_corpus.py`, which checks the outcome and the words of the line.",
        "",
        "- **error**: one line naming the file, row, key or path, exit status 2, no traceback "
        "(`TOOLKIT_DEBUG=1` shows one), nothing half-written;",
        "- **warned**: the command does its job (exit 0) and prints a warning saying what is wrong;",
        "- **handled**: the command reads the input correctly (exit 0).",
        "",
        f"{len(CASES) + len(SIGNATURE_CASES)} inputs: {len(CASES)} through the command line "
        f"({counts['error']} errors, {counts['warned']} warned, {counts['handled']} handled) "
        f"and {len(SIGNATURE_CASES)} through the SavedModel signature (errors); 0 tracebacks, "
        "0 unclear, 0 silently wrong.",
        "",
        "| input | command | outcome | the line names |",
        "| --- | --- | --- | --- |",
    ]
    for case in CASES:
        named = ", ".join(f"`{fragment}`" for fragment in case.expect) or "-"
        lines.append(f"| {case.what} | `toolkit {case.command}` | {case.outcome} | {named} |")
    lines += [
        "",
        "Through a SavedModel's `wav_bytes` signature, called from plain TensorFlow without the "
        "toolkit (keyword spotting and speech recognition exports): an `InvalidArgumentError` "
        "whose message says which item of the batch and what is wrong.",
        "",
        "| input | the message names |",
        "| --- | --- |",
    ]
    for case in SIGNATURE_CASES:
        named = ", ".join(f"`{fragment}`" for fragment in case.expect)
        lines.append(f"| {case.what} | {named} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
