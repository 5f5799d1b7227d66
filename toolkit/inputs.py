"""What a user holds, turned into what a model predicts from.

Audio models take float waveforms (one, or a batch or list of them, with their sample rate),
WAV/FLAC/OGG bytes, or paths to audio files and folders. Text models take strings, lists of
strings, .txt files (one text a line) or manifests with a `text` column; taggers also take
token lists. Each comes back as (names for the result rows, items for `Task.predict`).
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from toolkit.errors import ToolkitError

AUDIO_EXPECTED = "audio (a float waveform or a batch of them with sample_rate, WAV bytes, or audio file and folder paths)"
TEXT_EXPECTED = "text (strings, token lists, .txt files or manifests with a text column)"


def as_items(inputs: Any) -> list[Any]:
    """One input or a sequence of them, as a list (a 2-D array is a batch of waveforms)."""
    if isinstance(inputs, (str, bytes, os.PathLike)):
        return [inputs]
    if isinstance(inputs, np.ndarray):
        return [inputs] if inputs.ndim <= 1 else list(inputs)
    if isinstance(inputs, Sequence):
        return list(inputs)
    return [inputs]


def describe(item: Any) -> str:
    """A short description of an input for an error message."""
    if isinstance(item, np.ndarray):
        return f"an array of shape {item.shape} and dtype {item.dtype}"
    if isinstance(item, str):
        return f"the text {item[:60]!r}"
    return f"a {type(item).__name__}"


def audio_inputs(
    inputs: Any, model_rate: int, sample_rate: int | None = None
) -> tuple[list[str], list[np.ndarray]]:
    """(names, mono float32 waveforms at `model_rate`) for an audio model.

    Arrays need `sample_rate` (the rate they were recorded at); they are resampled to the
    model's. Strings and paths are files or folders (searched for audio files)."""
    from toolkit.audio.io import read_audio

    names: list[str] = []
    waveforms: list[np.ndarray] = []
    for index, item in enumerate(as_items(inputs)):
        if isinstance(item, (str, os.PathLike)):
            for path in expand_audio_paths(item):
                names.append(path)
                waveforms.append(read_audio(path, model_rate))
        elif isinstance(item, bytes):
            names.append(f"bytes #{index + 1}")
            waveforms.append(decode_audio_bytes(item, model_rate, index))
        elif is_waveform(item):
            if sample_rate is None:
                raise ToolkitError(
                    f"input #{index + 1}: a waveform needs its sample_rate (the model takes "
                    f"{model_rate} Hz; it is resampled from the rate you give)"
                )
            names.append(f"waveform #{index + 1}")
            waveforms.append(to_model_rate(np.asarray(item), sample_rate, model_rate, index))
        else:
            raise ToolkitError(
                f"input #{index + 1}: this model takes {AUDIO_EXPECTED}; got {describe(item)}"
            )
    if not waveforms:
        raise ToolkitError(f"nothing to predict: this model takes {AUDIO_EXPECTED}")
    return names, waveforms


# Below -80 dBFS a clip holds no sound a model can label; under 0.1 s hardly a syllable.
SILENCE_PEAK = 1e-4
SHORTEST_SECONDS = 0.1


def audio_warnings(
    names: list[str], waveforms: list[np.ndarray], sample_rate: int, clip_samples: int | None
) -> list[str]:
    """What makes a prediction for an input meaningless, one line each: silence, a clip too
    short to hold a word, and (for a classifier of fixed-length clips) a recording much longer
    than the clip it looks at."""
    lines = []
    for name, waveform in zip(names, waveforms, strict=True):
        seconds = len(waveform) / sample_rate
        if float(np.max(np.abs(waveform), initial=0.0)) < SILENCE_PEAK:
            lines.append(f"{name}: silent (peak below -80 dBFS); its prediction means nothing")
        elif seconds < SHORTEST_SECONDS:
            lines.append(f"{name}: only {seconds * 1000:.0f} ms of audio; too short to hold a word")
        if clip_samples and len(waveform) > 2 * clip_samples:
            lines.append(
                f"{name}: {seconds:.1f} s long; the model classifies one "
                f"{clip_samples / sample_rate:.2f} s clip from its middle, not the whole recording"
            )
    return lines


def is_waveform(item: Any) -> bool:
    if isinstance(item, np.ndarray):
        return item.ndim == 1 and np.issubdtype(item.dtype, np.number)
    return (
        isinstance(item, Sequence)
        and bool(item)
        and all(isinstance(value, (int, float)) for value in item)
    )


def to_model_rate(waveform: np.ndarray, rate: int, model_rate: int, index: int) -> np.ndarray:
    import soxr

    waveform = waveform.astype(np.float32)
    if waveform.size == 0:
        raise ToolkitError(f"input #{index + 1}: an empty waveform")
    from toolkit.audio.io import check_samples

    check_samples(f"input #{index + 1}", waveform)
    if rate != model_rate:
        waveform = soxr.resample(waveform, rate, model_rate, quality="HQ")
    return np.ascontiguousarray(waveform, dtype=np.float32)


def decode_audio_bytes(contents: bytes, model_rate: int, index: int) -> np.ndarray:
    """WAV, FLAC or OGG file contents, mixed down to mono and resampled to `model_rate`."""
    import soundfile

    try:
        samples, rate = soundfile.read(io.BytesIO(contents), dtype="float32", always_2d=True)
    except Exception as error:  # libsndfile raises several types for unreadable bytes
        message = " ".join(str(error).split())
        raise ToolkitError(f"input #{index + 1}: bytes that are not audio ({message})") from None
    return to_model_rate(samples.mean(axis=1), int(rate), model_rate, index)


def expand_audio_paths(item: str | os.PathLike) -> list[str]:
    """A file as it is; a folder searched recursively for audio files (sorted)."""
    from toolkit.audio.io import SUPPORTED_EXTENSIONS

    path = Path(item)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in SUPPORTED_EXTENSIONS)
        if not files:
            raise ToolkitError(
                f"{path}: no audio files ({', '.join(SUPPORTED_EXTENSIONS)}) in this folder"
            )
        return [str(p) for p in files]
    if not path.exists():
        raise ToolkitError(f"{path}: no such file; this model takes {AUDIO_EXPECTED}")
    return [str(path)]


def text_inputs(inputs: Any, *, token_lists: bool) -> tuple[list[str], list[Any]]:
    """(names, texts) for a text model; with `token_lists`, lists of tokens pass as they are
    (named by their tokens joined with spaces)."""
    from toolkit.data.text_check import read_prediction_texts

    names: list[str] = []
    items: list[Any] = []
    for index, item in enumerate(as_items(inputs)):
        if isinstance(item, (str, os.PathLike)):
            refuse_audio_file(Path(item), index)
            texts = read_prediction_texts([os.fspath(item)])
            names.extend(texts)
            items.extend(texts)
        elif (
            token_lists
            and isinstance(item, Sequence)
            and item
            and all(isinstance(token, str) for token in item)
        ):
            names.append(" ".join(item))
            items.append(list(item))
        else:
            raise ToolkitError(
                f"input #{index + 1}: this model takes {TEXT_EXPECTED}; got {describe(item)}"
            )
    if not items:
        raise ToolkitError(f"nothing to predict: this model takes {TEXT_EXPECTED}")
    return names, items


def refuse_audio_file(path: Path, index: int) -> None:
    """An existing audio file given to a text model is a mistake, not a text to classify."""
    from toolkit.audio.io import SUPPORTED_EXTENSIONS

    if path.suffix.lower() in SUPPORTED_EXTENSIONS and path.is_file():
        raise ToolkitError(f"{path}: an audio file; this model takes {TEXT_EXPECTED}")
