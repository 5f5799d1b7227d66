"""Shared helpers for the benchmark scripts: tables, machine description, RESULTS.md sections.

Each script owns one section of `benchmarks/RESULTS.md`, delimited by
`<!-- BEGIN name -->` and `<!-- END name -->`; `update_section` replaces that block (or
appends it) and leaves every other section as it is.
"""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

RESULTS_PATH = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = (
    "# Benchmark results\n\n"
    "Written by the scripts in this folder (see `README.md`); each section is replaced when "
    "its script runs again. Every figure comes with the command and the machine that "
    "produced it.\n"
)


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"


def update_section(name: str, markdown: str, path: Path = RESULTS_PATH) -> Path:
    """Replace (or append) the block between the BEGIN/END markers of `name`, atomically."""
    begin, end = _markers(name)
    block = f"{begin}\n{markdown.strip()}\n{end}"
    text = path.read_text() if path.is_file() else HEADER
    start = text.find(begin)
    stop = text.find(end, start) if start >= 0 else -1
    if start >= 0 and stop >= 0:
        text = text[:start] + block + text[stop + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def command_line() -> str:
    """The command that is running, as it was typed (interpreter shown as `python`)."""
    return "python " + shlex.join(sys.argv)


def _cpu_name() -> str:
    name = platform.processor()
    if not name or name == platform.machine():
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.lower().startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
    return name or "unknown processor"


def machine() -> dict[str, str]:
    """Processor, architecture, CPU count, GPUs, TensorFlow version and the date."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    gpu_names = []
    for gpu in gpus:
        details = tf.config.experimental.get_device_details(gpu)
        gpu_names.append(details.get("device_name", gpu.name))
    return {
        "processor": _cpu_name(),
        "architecture": platform.machine() or "unknown",
        "cpus": str(os.cpu_count()),
        "gpus": ", ".join(gpu_names) if gpu_names else "none visible to TensorFlow",
        "tensorflow": tf.__version__,
        "python": platform.python_version(),
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
    }


def machine_markdown() -> str:
    info = machine()
    return (
        f"- Machine: {info['processor']} ({info['architecture']}), {info['cpus']} CPUs, "
        f"GPU: {info['gpus']}\n"
        f"- TensorFlow {info['tensorflow']}, Python {info['python']}\n"
        f"- Date: {info['date']}"
    )


def section(title: str, body: str, notes: Sequence[str] = ()) -> str:
    """A RESULTS.md section: title, figures, notes, the exact command and the machine."""
    parts = [f"## {title}", body.strip()]
    if notes:
        parts.append("\n".join(f"- {note}" for note in notes))
    parts.append(f"Command (from the repository root):\n\n```bash\n{command_line()}\n```")
    parts.append(machine_markdown())
    return "\n\n".join(parts) + "\n"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def text_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """The same table aligned for a terminal."""
    cells = [list(map(str, headers))] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(line.rstrip() for line in lines)


def seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 600 else f"{value / 60:.1f} min"


def add_record_argument(parser) -> None:
    """`--no-record`: print the table only."""
    parser.add_argument(
        "--no-record",
        action="store_true",
        help="Print the table only; leave benchmarks/RESULTS.md unchanged.",
    )


def report(
    name: str,
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    notes: Sequence[str],
    record: bool,
    markdown_rows: Sequence[Sequence[object]] | None = None,
) -> None:
    """Print the table and notes; with `record`, replace section `name` of RESULTS.md."""
    print()
    print(text_table(headers, rows))
    for note in notes:
        print(f"- {note}")
    if record:
        body = markdown_table(headers, markdown_rows if markdown_rows is not None else rows)
        print(f"updated {update_section(name, section(title, body, notes))}")
