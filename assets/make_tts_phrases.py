"""Regenerate assets/tts_phrases: short spoken commands rendered by espeak-ng voices.

Phrases come from a small grammar ("turn on the light in the kitchen", "open the door"),
each voice saying a seeded random selection with its own speaking rate and pitch. Test
voices never occur in train, and test phrases are drawn afresh, so some combinations are
new. The manifests have `audio`, `transcript` and `speaker` columns.

    python assets/make_tts_phrases.py [--output assets/tts_phrases]
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
ACTIONS = ["turn on", "turn off", "open", "close", "start", "stop", "check"]
THINGS = ["light", "door", "window", "radio", "heater", "fan", "music", "oven"]
PLACES = ["", "in the kitchen", "in the garden", "in the bedroom", "upstairs", "now", "please"]


def phrase(generator: random.Random) -> str:
    words = [generator.choice(ACTIONS), "the", generator.choice(THINGS), generator.choice(PLACES)]
    return " ".join(word for word in words if word)


def split_voices(seed: int, train_count: int, test_count: int) -> dict[str, list[str]]:
    voices = list(tts.VOICES)
    random.Random(seed).shuffle(voices)
    return {
        "train": sorted(voices[test_count : test_count + train_count]),
        "test": sorted(voices[:test_count]),
    }


def write_split(output: Path, split: str, voices: list[str], phrases_per_voice: int, seed: int):
    rows = []
    generator = random.Random(f"{seed}-{split}")
    folder = output / split
    folder.mkdir(parents=True, exist_ok=True)
    for voice in voices:
        for index in range(phrases_per_voice):
            text = phrase(generator)
            audio = tts.synthesize(
                text,
                SAMPLE_RATE,
                voice=voice,
                rate=generator.randint(*tts.RATE_RANGE),
                pitch=generator.randint(*tts.PITCH_RANGE),
                amplitude=tts.CLIP_AMPLITUDE,
            )
            path = folder / f"{voice.replace('+', '-')}_{index}.flac"
            soundfile.write(
                path, audio, SAMPLE_RATE, format="FLAC", subtype="PCM_16", compression_level=1.0
            )
            rows.append(
                {
                    "audio": path.relative_to(output).as_posix(),
                    "transcript": text,
                    "speaker": f"tts:{voice}",
                }
            )
    manifest = pd.DataFrame(rows, columns=["audio", "transcript", "speaker"])
    manifest.to_csv(output / f"{split}.csv", index=False)
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output", type=Path, default=Path(__file__).resolve().parent / "tts_phrases"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-voices", type=int, default=40)
    parser.add_argument("--test-voices", type=int, default=8)
    parser.add_argument("--phrases-per-voice", type=int, default=6)
    options = parser.parse_args()
    if not tts.espeak_available():
        raise SystemExit("espeak-ng is not installed; install it (e.g. apt-get install espeak-ng)")
    voices = split_voices(options.seed, options.train_voices, options.test_voices)
    for split, split_voice_list in voices.items():
        shutil.rmtree(options.output / split, ignore_errors=True)
        manifest = write_split(
            options.output, split, split_voice_list, options.phrases_per_voice, options.seed
        )
        print(f"{split}: {len(manifest)} phrases from {len(split_voice_list)} voices")


if __name__ == "__main__":
    main()
