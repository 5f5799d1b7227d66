"""`toolkit detect`: keywords and their times in long recordings."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from toolkit.cli.common import device_option, handle_errors, select_device, setup_logging
from toolkit.errors import ToolkitError

STDIN = "-"


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

    Prints one row per detection: recording, keyword, start and end (seconds), score.
    """
    if output and Path(output).suffix.lower() not in (".csv", ".json"):
        raise ToolkitError(f"--output {output}: write detections to a .csv or .json file")
    select_device(device)
    import toolkit

    setup_logging()
    inputs = [sys.stdin.buffer.read() if item == STDIN else item for item in recordings]
    table = toolkit.load(model).detect(
        inputs, threshold=threshold, hop_ms=hop_ms, smoothing_ms=smoothing_ms
    )
    if STDIN in recordings:
        table["recording"] = table["recording"].str.replace(r"^bytes #\d+$", "stdin", regex=True)
    if output:
        from toolkit import atomic

        if Path(output).suffix.lower() == ".json":
            atomic.write_json(output, table.to_dict(orient="records"))
        else:
            atomic.write_csv(table, output)
        click.echo(f"wrote {len(table)} detections to {output}")
    elif table.empty:
        click.echo("no keywords detected")
    else:
        click.echo(table.to_string(index=False, float_format=lambda value: f"{value:.3f}"))
