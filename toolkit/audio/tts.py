"""Speech synthesis for embedded demo data and synthetic training clips: espeak-ng, and Flite
for a few more natural-sounding voices ("flite:<voice>")."""

from __future__ import annotations

import io
import os
import random
import re
import shutil
import subprocess
import tempfile
import uuid
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile
import soxr

from toolkit.errors import DataError
from toolkit.progress import Progress

# Accents and variants were each checked to produce audio with the plain espeak-ng install:
# the mbrola voices (mb-*, en-uk) need extra packages and are left out, and "en" is the same
# voice as "en-gb". Variants are spread over male, female, old, whispered and Klatt-synthesised
# voices so that renderings differ in more than speed and pitch.
ACCENTS = [
    "en",
    "en-us",
    "en-us-nyc",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
]
VARIANTS = [
    "",
    "+m2",
    "+m3",
    "+m5",
    "+m7",
    "+f1",
    "+f2",
    "+f3",
    "+f4",
    "+klatt2",
    "+klatt4",
    "+steph",
    "+grandpa",
    "+whisper",
]
VOICES = [accent + variant for accent in ACCENTS for variant in VARIANTS]

# Flite's own English voices (Debian's flite package): statistical parametric (slt, rms, awb)
# and diphone (kal16) voices, closer to recorded speech than espeak-ng's formant synthesis.
# Their speakers: slt a US woman, rms a US man, awb a Scottish man, kal16 a US man.
FLITE_PREFIX = "flite:"
FLITE_VOICES = [f"{FLITE_PREFIX}{name}" for name in ("slt", "rms", "awb", "kal16")]
# Each Flite voice's own mean pitch in Hz, which the pitch setting scales (rms ignores it).
FLITE_PITCH_HZ = {"slt": 170.0, "rms": 100.0, "awb": 110.0, "kal16": 110.0}

RATE_RANGE = (120, 220)  # words per minute
PITCH_RANGE = (20, 80)  # espeak-ng's 0-99 scale
# espeak-ng's default amplitude (100) puts some Klatt voices within a few percent of full scale,
# and resampling can overshoot; 70 leaves headroom so written 16-bit clips never clip.
CLIP_AMPLITUDE = 70

_DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
# Classes that stand for "anything else" or "no speech": there is no word to say for them.
_CATCH_ALL_LABELS = {
    "_silence_",
    "silence",
    "_unknown_",
    "unknown",
    "background",
    "_background_noise_",
    "noise",
    "other",
    "none",
    "filler",
}
_WORD_LABEL = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*(?:[ _-]+[^\W\d_]+(?:['’][^\W\d_]+)*)*")


@dataclass(frozen=True)
class Rendering:
    """The espeak-ng settings for one synthetic clip."""

    voice: str
    rate: int
    pitch: int


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def flite_available() -> bool:
    return shutil.which("flite") is not None


def synthesize(
    text: str,
    sample_rate: int,
    voice: str = "en",
    rate: int = 160,
    pitch: int = 50,
    amplitude: int = 100,
) -> np.ndarray:
    """Speak `text` with espeak-ng (or Flite, for a "flite:<name>" voice); returns float32
    mono audio at `sample_rate`, silence trimmed."""
    if voice.startswith(FLITE_PREFIX):
        return synthesize_flite(text, sample_rate, voice, rate, pitch, amplitude)
    executable = shutil.which("espeak-ng")
    if executable is None:
        raise DataError("espeak-ng is not installed; install it (e.g. apt-get install espeak-ng)")
    command = [
        executable,
        "--stdout",
        "-v",
        voice,
        "-s",
        str(rate),
        "-p",
        str(pitch),
        "-a",
        str(amplitude),
        # "--" keeps text that starts with "-" from being read as an option.
        "--",
        text,
    ]
    result = subprocess.run(command, capture_output=True, check=False)
    message = result.stderr.decode(errors="replace").strip().splitlines()
    if result.returncode != 0 or len(result.stdout) <= 44:
        # A missing voice still exits 0 on some builds, with an empty WAV and a message on stderr.
        reason = message[0] if message else f"exit status {result.returncode}"
        raise RuntimeError(f"espeak-ng could not speak {text!r} with voice {voice!r}: {reason}")
    audio, native_rate = soundfile.read(io.BytesIO(result.stdout), dtype="float32")
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    if native_rate != sample_rate:
        audio = soxr.resample(audio, native_rate, sample_rate, quality="HQ")
    audio = np.clip(audio, -1.0, 1.0).astype(np.float32)
    return trim_silence(audio, sample_rate)


def synthesize_flite(
    text: str, sample_rate: int, voice: str, rate: int, pitch: int, amplitude: int
) -> np.ndarray:
    """Speak `text` with one of Flite's voices, at espeak-ng's rate (words per minute) and
    pitch (0-99) scales so that one set of choices serves both synthesisers."""
    executable = shutil.which("flite")
    if executable is None:
        raise DataError("flite is not installed; install it (e.g. apt-get install flite)")
    name = voice.removeprefix(FLITE_PREFIX)
    if name not in FLITE_PITCH_HZ:
        raise RuntimeError(f"unknown Flite voice {voice!r}; known: {', '.join(FLITE_VOICES)}")
    # Flite speaks at about 170 words per minute; its stretch is a duration factor.
    stretch = 170.0 / rate
    # Pitch 50 is the voice's own; 20 and 80 are about 0.7 and 1.4 times it.
    mean_pitch = FLITE_PITCH_HZ[name] * 2.0 ** ((pitch - 50) / 60)
    with tempfile.TemporaryDirectory(prefix="flite-") as folder:
        path = Path(folder) / "speech.wav"
        command = [
            executable,
            "-voice",
            name,
            "--setf",
            f"duration_stretch={stretch:.3f}",
            "--setf",
            f"int_f0_target_mean={mean_pitch:.1f}",
            "-t",
            text,
            "-o",
            str(path),
        ]
        result = subprocess.run(command, capture_output=True, check=False)
        if result.returncode != 0 or not path.is_file() or path.stat().st_size <= 44:
            reason = result.stderr.decode(errors="replace").strip() or f"exit {result.returncode}"
            raise RuntimeError(f"flite could not speak {text!r} with voice {name!r}: {reason}")
        audio, native_rate = soundfile.read(path, dtype="float32")
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    if native_rate != sample_rate:
        audio = soxr.resample(audio, native_rate, sample_rate, quality="HQ")
    # Flite has no volume setting: scale the peak to where espeak-ng's amplitude would put it.
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 0:
        audio = audio * (0.9 * min(amplitude, 100) / 100 / peak)
    return trim_silence(np.clip(audio, -1.0, 1.0).astype(np.float32), sample_rate)


def trim_silence(
    audio: np.ndarray, sample_rate: int, threshold_db: float = -40.0, margin_seconds: float = 0.03
) -> np.ndarray:
    """Cut leading and trailing frames quieter than `threshold_db` below the loudest frame."""
    frame = max(1, int(sample_rate * 0.01))
    count = len(audio) // frame
    if count == 0:
        return audio
    frames = audio[: count * frame].reshape(count, frame)
    energy = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    # Relative to the peak so that quiet (whispered) voices are trimmed as well as loud ones.
    loud = np.flatnonzero(energy > energy.max() * 10 ** (threshold_db / 20))
    if energy.max() == 0 or len(loud) == 0:
        return audio
    margin = int(sample_rate * margin_seconds)
    start = max(0, loud[0] * frame - margin)
    end = min(len(audio), (loud[-1] + 1) * frame + margin)
    return audio[start:end]


def is_catch_all(label: str) -> bool:
    """True for a class that stands for "anything else" or "no speech" (`_silence_`,
    `_unknown_`, `noise`, ...) rather than a word."""
    name = label.strip()
    return name.startswith("_") or name.lower() in _CATCH_ALL_LABELS


def spoken_form(label: str) -> str | None:
    """The words espeak-ng should say for a class label, or None when the label is not a word."""
    name = label.strip()
    if name in {str(digit) for digit in range(10)}:
        return _DIGIT_WORDS[int(name)]
    if not name or is_catch_all(name):
        return None
    if not _WORD_LABEL.fullmatch(name):
        return None
    # Lower case, because espeak-ng spells out all-capital words letter by letter.
    return re.sub(r"[ _-]+", " ", name).lower()


def rendering_settings_key(voices: list[str] | None = None) -> str:
    """A short digest of what decides a rendering besides text, seed and rate, for the cache
    folder's name: clips made with other voices or ranges are not reused."""
    settings = repr((voices or VOICES, RATE_RANGE, PITCH_RANGE, CLIP_AMPLITUDE))
    return f"{zlib.crc32(settings.encode()):08x}"


def choose_renderings(count: int, seed: int, voices: list[str] | None = None) -> list[Rendering]:
    """`count` deterministic random voice, rate and pitch choices."""
    generator = random.Random(seed)
    pool = list(voices or VOICES)
    return [
        Rendering(
            voice=generator.choice(pool),
            rate=generator.randint(*RATE_RANGE),
            pitch=generator.randint(*PITCH_RANGE),
        )
        for _ in range(count)
    ]


def render_variants(text: str, sample_rate: int, count: int, seed: int) -> list[np.ndarray]:
    """`count` renderings of `text`, each with a seeded random voice, rate and pitch."""
    return [
        synthesize(
            text,
            sample_rate,
            voice=choice.voice,
            rate=choice.rate,
            pitch=choice.pitch,
            amplitude=CLIP_AMPLITUDE,
        )
        for choice in choose_renderings(count, seed)
    ]


def synthesize_label_clips(
    labels: list[str],
    output_folder: Path,
    sample_rate: int,
    clips_per_label: int,
    seed: int = 0,
    voices: list[str] | None = None,
) -> pd.DataFrame:
    """Write `<output>/<label>/tts_<n>.wav` for every label that has a spoken form.

    Returns a manifest (audio, label, speaker="tts:<voice>"); labels such as "_silence_" get no
    clips. Each label's choices depend only on `seed` and the label, so adding a label to the list
    leaves the clips of the others unchanged. `voices` limits the voices drawn from.
    """
    output_folder = Path(output_folder).absolute()
    rows = []
    spoken = [label for label in labels if spoken_form(label) is not None]
    progress = Progress("rendering synthetic speech", len(spoken) * clips_per_label)
    for label in spoken:
        text = spoken_form(label)
        label_folder = output_folder / label
        label_folder.mkdir(parents=True, exist_ok=True)
        label_seed = seed * 1_000_003 + zlib.crc32(label.encode())
        for index, choice in enumerate(choose_renderings(clips_per_label, label_seed, voices)):
            path = label_folder / f"tts_{index}.wav"
            # Renderings are deterministic, so a clip already on disk (a cache) is reused.
            if not path.is_file():
                audio = synthesize(
                    text,
                    sample_rate,
                    voice=choice.voice,
                    rate=choice.rate,
                    pitch=choice.pitch,
                    amplitude=CLIP_AMPLITUDE,
                )
                # A name of its own per writer: runs sharing the cache may render the same
                # clip at once, and each replaces the finished file with identical samples.
                partial = path.with_name(
                    f"{path.stem}.{os.getpid()}.{uuid.uuid4().hex}.partial.wav"
                )
                try:
                    soundfile.write(partial, audio, sample_rate, subtype="PCM_16")
                    partial.replace(path)
                finally:
                    partial.unlink(missing_ok=True)
            rows.append({"audio": str(path), "label": label, "speaker": f"tts:{choice.voice}"})
            progress.update()
    progress.close()
    return pd.DataFrame(rows, columns=["audio", "label", "speaker"])
