"""Shared command-line plumbing: one-line errors with exit status 2, logging, devices."""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from toolkit.errors import ToolkitError

# Errors raised inside tf.data (e.g. a file that fails to decode mid-epoch) reach us wrapped
# in a TensorFlow error; the toolkit's own message is fished out of its text.
_WRAPPED = re.compile(r"(?:DataError|ToolkitError|RecipeError): (.+)")


def debug_enabled() -> bool:
    return os.environ.get("TOOLKIT_DEBUG", "") not in ("", "0")


def user_message(error: BaseException) -> str | None:
    """The one line to show for an error caused by the user's input, or None for a bug."""
    if isinstance(error, ToolkitError):
        return str(error)
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        # A path the user gave (an output under a regular file, a full disk, no permission).
        if isinstance(error, FileExistsError | NotADirectoryError):
            return f"{error.filename}: a file stands where a folder is needed ({error.strerror})"
        return f"{error.filename}: {error.strerror}"
    match = _WRAPPED.search(str(error))
    if match:
        return match.group(1).strip()
    return None


def handle_errors(function: Callable) -> Callable:
    """Turn user errors into `error: ...` and exit status 2 (a traceback with TOOLKIT_DEBUG=1)."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as error:  # noqa: BLE001 (the one place errors become exit codes)
            if debug_enabled():
                raise
            message = user_message(error)
            if message is None:
                first = str(error).strip().splitlines()[0] if str(error).strip() else ""
                message = f"unexpected {type(error).__name__}: {first} (set TOOLKIT_DEBUG=1 for the traceback)"
                click.echo(f"error: {message}", err=True)
                sys.exit(1)
            click.echo(f"error: {message}", err=True)
            sys.exit(2)

    return wrapper


def setup_logging(run_dir: Path | None = None) -> None:
    """Progress lines to stderr, and a copy in RUN_DIR/log.txt."""
    logger = logging.getLogger("toolkit")
    logger.setLevel(logging.INFO)
    if not any(
        isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
        for h in logger.handlers
    ):
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(stream)
    if run_dir is not None:
        # One log file at a time: a second run in the same process must not write into the first's.
        for handler in [h for h in logger.handlers if isinstance(h, logging.FileHandler)]:
            logger.removeHandler(handler)
            handler.close()
        # Opened at the first line logged: by then the run has claimed (and made) its folder,
        # and a run refused there leaves no trace in it.
        handler = logging.FileHandler(run_dir / "log.txt", delay=True)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
    logger.propagate = False


def select_device(device: str) -> None:
    """Hide GPUs for `--device cpu`; must run before TensorFlow is imported (TensorFlow's
    start-up notices are kept quiet by `toolkit.quiet`)."""
    if device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = "-1"


device_option = click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "gpu"]),
    default="auto",
    show_default=True,
    help="CPU, one GPU, or every visible GPU (MirroredStrategy).",
)
set_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a recipe setting, e.g. --set train.epochs=5 (repeatable).",
)
force_option = click.option(
    "--force", is_flag=True, help="Replace a finished run in the --output folder."
)
resume_option = click.option(
    "--resume",
    is_flag=True,
    help="Take the finished run in the --output folder as it is: evaluate (and export) it "
    "again without training. An interrupted run resumes without it.",
)
