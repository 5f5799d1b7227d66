"""Regenerate assets/tts_digits: the digits zero to nine spoken by espeak-ng voices.

Every voice says every digit, with its own seeded random speaking rate and pitch per clip. The
test voices (accent + variant combinations) never occur in train, so test accuracy measures how
well a model copes with voices it has not heard. espeak-ng is deterministic, so running this
again with the same options rewrites the same files.

    python assets/make_tts_digits.py [--output assets/tts_digits]
"""

from __future__ import annotations

import argparse
import random
import shutil
from pathlib import Path

import pandas as pd
import soundfile

from toolkit.audio import tts

SAMPLE_RATE = 16000
DIGITS = [str(digit) for digit in range(10)]


def split_voices(seed: int, train_count: int, test_count: int) -> dict[str, list[str]]:
    voices = list(tts.VOICES)
    random.Random(seed).shuffle(voices)
    if train_count + test_count > len(voices):
        raise SystemExit(
            f"only {len(voices)} voices available, asked for {train_count + test_count}"
        )
    return {
        "train": sorted(voices[test_count : test_count + train_count]),
        "test": sorted(voices[:test_count]),
    }


def voice_id(voice: str) -> str:
    """The voice as it appears in file names: "en-us+f3" -> "en-us-f3"."""
    return voice.replace("+", "-")


def write_split(
    output: Path, split: str, voices: list[str], clips_per_voice: int, seed: int
) -> pd.DataFrame:
    rows = []
    generator = random.Random(f"{seed}-{split}")
    for voice in voices:
        for digit in DIGITS:
            folder = output / split / digit
            folder.mkdir(parents=True, exist_ok=True)
            for index in range(clips_per_voice):
                rate = generator.randint(*tts.RATE_RANGE)
                pitch = generator.randint(*tts.PITCH_RANGE)
                audio = tts.synthesize(
                    tts.spoken_form(digit),
                    SAMPLE_RATE,
                    voice=voice,
                    rate=rate,
                    pitch=pitch,
                    amplitude=tts.CLIP_AMPLITUDE,
                )
                path = folder / f"{digit}_{voice_id(voice)}_{index}.flac"
                # FLAC at the highest compression keeps the embedded set small; it is lossless.
                soundfile.write(
                    path, audio, SAMPLE_RATE, format="FLAC", subtype="PCM_16", compression_level=1.0
                )
                rows.append(
                    {
                        "audio": path.relative_to(output).as_posix(),
                        "label": digit,
                        "speaker": f"tts:{voice}",
                    }
                )
    manifest = pd.DataFrame(rows, columns=["audio", "label", "speaker"])
    manifest = manifest.sort_values(["label", "audio"], kind="stable").reset_index(drop=True)
    manifest.to_csv(output / f"{split}.csv", index=False)
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_output = Path(__file__).resolve().parent / "tts_digits"
    parser.add_argument("--output", type=Path, default=default_output)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-voices", type=int, default=40)
    parser.add_argument("--test-voices", type=int, default=10)
    parser.add_argument("--clips-per-voice", type=int, default=1)
    options = parser.parse_args()
    if not tts.espeak_available():
        raise SystemExit("espeak-ng is not installed; install it (e.g. apt-get install espeak-ng)")

    output = options.output
    output.mkdir(parents=True, exist_ok=True)
    voices = split_voices(options.seed, options.train_voices, options.test_voices)
    for split, split_voices_list in voices.items():
        # Start from an empty split folder so clips from an earlier, larger run do not linger.
        shutil.rmtree(output / split, ignore_errors=True)
        manifest = write_split(
            output, split, split_voices_list, options.clips_per_voice, options.seed
        )
        print(f"{split}: {len(manifest)} clips from {len(split_voices_list)} voices")


if __name__ == "__main__":
    main()
