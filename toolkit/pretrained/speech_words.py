"""Building the speech_words model: espeak-ng and Flite renderings of a few hundred words,
trained with the model's recipe, written into its folder with a model card."""

from __future__ import annotations

import datetime
import logging
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from toolkit import model_files
from toolkit.errors import ToolkitError

log = logging.getLogger("toolkit")

NAME = "speech_words"
SAMPLE_RATE = 16000
# One accent never heard in training: the card's test accuracy is on voices the model has not
# learnt, the nearest a synthetic test comes to a new speaker.
TEST_ACCENT = "en-029"


def read_words(folder: Path) -> list[str]:
    lines = (folder / "words.txt").read_text().splitlines()
    words = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    if len(set(words)) != len(words):
        raise ToolkitError(f"{folder / 'words.txt'}: a word is listed twice")
    return words


def render(
    words: list[str], folder: Path, clips_per_word: int, seed: int, voices: list[str]
) -> pd.DataFrame:
    """Render every word `clips_per_word` times in `voices` into `folder`; returns the
    manifest (audio, label, speaker)."""
    from toolkit.audio import tts

    return tts.synthesize_label_clips(words, folder, SAMPLE_RATE, clips_per_word, seed, voices)


def write_manifest(frames: list[pd.DataFrame], path: Path) -> Path:
    pd.concat(frames, ignore_index=True).to_csv(path, index=False)
    return path


def test_voices() -> list[str]:
    from toolkit.audio import tts

    return [voice for voice in tts.VOICES if voice.split("+")[0] == TEST_ACCENT]


def training_voices() -> list[str]:
    from toolkit.audio import tts

    return [voice for voice in tts.VOICES if voice.split("+")[0] != TEST_ACCENT]


def espeak_version() -> str:
    try:
        found = subprocess.run(
            ["espeak-ng", "--version"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    # "eSpeak NG text-to-speech: 1.51  Data at: ..." -> "1.51"
    match = re.search(r"text-to-speech:\s*(\S+)", found.stdout)
    return match.group(1) if match else found.stdout.strip()


def build(
    folder: Path,
    *,
    output: Path,
    clips_per_word: int = 40,
    flite_clips_per_word: int = 20,
    test_clips_per_word: int = 4,
    work: Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
    device: str = "auto",
    seed: int = 0,
) -> dict[str, Any]:
    """Render the words of `folder/words.txt` (`clips_per_word` times with espeak-ng and
    `flite_clips_per_word` times with Flite), train `folder/recipe.yaml` on them and write
    the model, its resolved recipe and card.yaml into `output`; returns the card."""
    from toolkit import runner
    from toolkit.audio import tts
    from toolkit.pretrained import CARD, size_mb
    from toolkit.recipes import load_recipe

    if not tts.espeak_available():
        raise ToolkitError("building speech_words needs espeak-ng (apt-get install espeak-ng)")
    if flite_clips_per_word and not tts.flite_available():
        raise ToolkitError(
            "building speech_words needs flite (apt-get install flite), or "
            "--flite-clips-per-word 0 for espeak-ng speech only"
        )
    started = time.monotonic()
    words = read_words(folder)
    work = Path(work) if work else Path(tempfile.mkdtemp(prefix="speech_words-"))
    # Two synthesisers: a model that hears both generalises past either one's sound.
    training = [render(words, work / "train", clips_per_word, seed, training_voices())]
    if flite_clips_per_word:
        training.append(
            render(words, work / "train_flite", flite_clips_per_word, seed, tts.FLITE_VOICES)
        )
    train = write_manifest(training, work / "train.csv")
    test = write_manifest(
        [render(words, work / "test", test_clips_per_word, seed + 1, test_voices())],
        work / "test.csv",
    )
    settings = [*overrides, f"data.train={train}", f"data.test={test}"]
    recipe = load_recipe(folder / "recipe.yaml", settings)
    trained = runner.train(recipe, work / "run", device)
    metrics = runner.evaluate(trained, splits=("test",))["test"]

    output.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(work / "run" / "model.keras", output / "model.keras")
    model_files.write_checksum(output / "model.keras")
    # The shipped recipe is the run's, less the build machine's data paths (the card names
    # the data); fine-tuning replaces the data anyway.
    resolved = trained.recipe
    for key in ("train", "valid", "test"):
        resolved.blocks["data"][key] = None
    resolved.source = f"recipe.yaml beside it (toolkit models build {NAME})"
    resolved.save(output / runner.RESOLVED_RECIPE)
    for name in ("words.txt", "recipe.yaml"):
        if (folder / name).resolve() != (output / name).resolve():
            shutil.copyfile(folder / name, output / name)
    features = recipe.component("features")
    card = {
        "name": NAME,
        "task": "audio_classification",
        "description": (
            "Tells spoken English words apart; a backbone to fine-tune for keyword spotting "
            "and audio classification on a few recordings per class."
        ),
        "inputs": (
            f"mono audio at {SAMPLE_RATE} Hz (other rates are resampled), one word per clip "
            f"of up to {recipe.component('task')['clip_duration']} s"
        ),
        "features": (
            f"{features['num_mel_bins']} log-mel bands from {features['fmin']:g} to "
            f"{features['fmax']:g} Hz, {features['window_ms']:g} ms windows every "
            f"{features['hop_ms']:g} ms, peak-normalised"
        ),
        "labels": f"{len(words)} words, listed in words.txt",
        "training_data": (
            f"espeak-ng {espeak_version()} renderings of every word: {clips_per_word} per "
            f"word in {len(training_voices())} voices"
            + (
                f", and {flite_clips_per_word} per word in Flite's {len(tts.FLITE_VOICES)} "
                f"voices ({', '.join(tts.FLITE_VOICES)})"
                if flite_clips_per_word
                else ""
            )
            + f"; speaking rates {tts.RATE_RANGE[0]}-{tts.RATE_RANGE[1]} words per minute "
            f"and pitches {tts.PITCH_RANGE[0]}-{tts.PITCH_RANGE[1]}, with the recipe's noise, "
            "speed, gain, formant and masking augmentation; no recorded speech"
        ),
        "test_data": (
            f"{test_clips_per_word} renderings per word in the {TEST_ACCENT} accent's voices, "
            "held out of training"
        ),
        "figures": {
            "test_accuracy_held_out_voices": round(float(metrics["accuracy"]), 4),
            "test_clips": len(words) * test_clips_per_word,
        },
        "parameters": int(trained.model.count_params()),
        "size_mb": round(size_mb(output / "model.keras"), 2),
        "build_command": f"toolkit models build {NAME}",
        "built": datetime.date.today().isoformat(),
        "build_seconds": round(time.monotonic() - started),
    }
    (output / CARD).write_text(yaml.safe_dump(card, sort_keys=False, width=100))
    log.info("built %s into %s (%.1f MB)", NAME, output, card["size_mb"])
    return card
