"""`toolkit detect`: keywords and their times in long recordings."""

from __future__ import annotations

import io
import sys
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import click
import numpy as np

from toolkit.cli.common import device_option, handle_errors, select_device, setup_logging
from toolkit.errors import ToolkitError

STDIN = "-"
# Enough of a WAV stream to hold its header (a few chunks before the samples, as a rule).
HEADER_BYTES = 4096
CHUNK_SECONDS = 0.1


class Prefixed(io.RawIOBase):
    """`head` then the rest of `stream`: a stream whose first bytes were already read."""

    def __init__(self, head: bytes, stream: BinaryIO):
        self.head, self.stream = head, stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            size = min(len(buffer), len(self.head))
            buffer[:size], self.head = self.head[:size], self.head[size:]
            return size
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def pcm_chunks(head: bytes, stream: BinaryIO, model_rate: int) -> Iterator[np.ndarray] | None:
    """100 ms float32 chunks of a 16-bit mono PCM WAV stream at `model_rate`, read as they
    arrive (from a microphone pipe, say); None for anything else, which is then read whole
    and decoded (and resampled) like a file."""
    try:
        reader = wave.open(io.BufferedReader(Prefixed(head, stream)))
    except (wave.Error, EOFError):
        return None
    if (reader.getnchannels(), reader.getsampwidth(), reader.getframerate()) != (1, 2, model_rate):
        return None
    frames = max(1, int(model_rate * CHUNK_SECONDS))

    def chunks() -> Iterator[np.ndarray]:
        while data := reader.readframes(frames):
            yield np.frombuffer(data[: len(data) // 2 * 2], "<i2").astype(np.float32) / 32768.0

    return chunks()


@click.command()
@click.argument("model", type=click.Path(exists=True, file_okay=False))
@click.argument("recordings", nargs=-1, required=True)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    help="Smallest averaged probability of a detection [recipe: export.detect_threshold, 0.5].",
)
@click.option(
    "--hop-ms",
    type=click.FloatRange(min=0, min_open=True),
    help="Time between windows [recipe: export.detect_hop_ms, 100].",
)
@click.option(
    "--smoothing-ms",
    type=click.FloatRange(min=0),
    help="Probabilities averaged over this much [recipe: export.detect_smoothing_ms, 300].",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False),
    help="Write the detections to this .csv or .json file.",
)
@device_option
@handle_errors
def detect(
    model: str,
    recordings: tuple[str, ...],
    threshold: float | None,
    hop_ms: float | None,
    smoothing_ms: float | None,
    output: str | None,
    device: str,
) -> None:
    """Find keywords in long RECORDINGS (audio files or folders; - reads one file from stdin)
    with an audio classifier MODEL: a run directory or its exported SavedModel.

    Prints one row per detection: recording, keyword, start and end (seconds), score. A
    16-bit mono WAV on stdin at the model's sample rate is read as it arrives and each
    detection printed when it closes (arecord -f S16_LE -c 1 -r RATE | toolkit detect MODEL -).
    """
    if output and Path(output).suffix.lower() not in (".csv", ".json"):
        raise ToolkitError(f"--output {output}: write detections to a .csv or .json file")
    select_device(device)
    import pandas as pd

    import toolkit

    setup_logging()
    loaded = toolkit.load(model)
    settings = {"threshold": threshold, "hop_ms": hop_ms, "smoothing_ms": smoothing_ms}
    streamed = None
    if recordings == (STDIN,):
        head = sys.stdin.buffer.read(HEADER_BYTES)
        chunks = pcm_chunks(head, sys.stdin.buffer, loaded.sample_rate)
        if chunks is not None:
            streamed = []
            for found in loaded.detect_stream(chunks, name="stdin", **settings):
                streamed.append(found)
                if not output:
                    for row in found.itertuples():
                        click.echo(
                            f"stdin  {row.keyword}  {row.start:.3f}  {row.end:.3f}  {row.score:.3f}"
                        )
            columns = ["recording", "keyword", "start", "end", "score"]
            table = pd.concat(streamed) if streamed else pd.DataFrame(columns=columns)
        else:
            recordings = (head + sys.stdin.buffer.read(),)
    if streamed is None:
        inputs = [sys.stdin.buffer.read() if item == STDIN else item for item in recordings]
        table = loaded.detect(inputs, **settings)
        if any(isinstance(item, bytes) for item in inputs):
            table["recording"] = table["recording"].str.replace(
                r"^bytes #\d+$", "stdin", regex=True
            )
    if output:
        from toolkit import atomic

        if Path(output).suffix.lower() == ".json":
            atomic.write_json(output, table.to_dict(orient="records"))
        else:
            atomic.write_csv(table, output)
        click.echo(f"wrote {len(table)} detections to {output}")
    elif table.empty:
        click.echo("no keywords detected")
    elif streamed is None:
        click.echo(table.to_string(index=False, float_format=lambda value: f"{value:.3f}"))
