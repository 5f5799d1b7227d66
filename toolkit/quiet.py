"""TensorFlow's start-up notices kept off the screen unless TOOLKIT_DEBUG is set.

TensorFlow 2.21 logs its import-time notices (the oneDNN note, CUDA stubs, CPU features) through
Abseil before Abseil's logging is initialised, so they ignore TF_CPP_MIN_LOG_LEVEL and go straight
to file descriptor 2; on a machine without a GPU driver the first look for GPUs adds a
"failed call to cuInit" error. None of them is something a user can act on. So the import of
TensorFlow and its first look for GPUs run with descriptor 2 pointed at a temporary file, and
every line that is not such a notice is written back afterwards.

`install()` runs when `toolkit` is imported and costs nothing: it only puts a finder in front of
the import system that waits for the first `import tensorflow` (by the toolkit, Keras or the
user's own code after importing the toolkit). A user's own TF_CPP_MIN_LOG_LEVEL decides which
lines are kept.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# Abseil's prefix: severity letter, MMDD, time, thread id, file:line].
_ABSL_LINE = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\]]+\] ")
_SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3}
_BANNER = "WARNING: All log messages before absl::InitializeLog() is called"
# Continuation of the CPU-feature notice, which spans two lines.
_CONTINUATION = "To enable the following instructions:"
# Reported as an error, but on a machine without a GPU driver it only means "no GPU": the toolkit
# says which device it trains on.
_NO_DRIVER = "failed call to cuInit"
DEFAULT_LEVEL = "2"


def debug_enabled() -> bool:
    return os.environ.get("TOOLKIT_DEBUG", "") not in ("", "0")


def min_level() -> int:
    """TensorFlow's C++ log level in force: the user's TF_CPP_MIN_LOG_LEVEL, else ours (2)."""
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", DEFAULT_LEVEL))
    except ValueError:
        return int(DEFAULT_LEVEL)


def keep_line(line: str, level: int) -> bool:
    """Whether a line TensorFlow wrote while starting up is shown at log level `level`."""
    match = _ABSL_LINE.match(line)
    if match:
        if level >= 1 and _NO_DRIVER in line:
            return False
        return _SEVERITY[match.group(1)] >= level
    if level >= 1 and (line.startswith(_BANNER) or line.startswith(_CONTINUATION)):
        return False
    return True


@contextmanager
def filtered_stderr(level: int | None = None) -> Iterator[None]:
    """Descriptor 2 goes to a temporary file inside the block; lines kept at `level` are
    written back after it (in order, so nothing else is lost)."""
    level = min_level() if level is None else level
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 (e.g. some embedded interpreters): nothing to filter
        yield
        return
    sys.stderr.flush()
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            kept = [line for line in text.splitlines(keepends=True) if keep_line(line, level)]
            if kept:
                os.write(2, "".join(kept).encode("utf-8"))


def _after_import(module: Any) -> None:
    # The first look for GPUs is where a machine without a driver logs its cuInit error; it
    # only lists devices (no memory is taken, settings such as memory growth can still change).
    try:
        module.config.list_physical_devices("GPU")
    except Exception:  # noqa: BLE001 (a broken GPU set-up is reported when the toolkit uses it)
        pass


class _QuietLoader:
    """Runs TensorFlow's own loader with descriptor 2 filtered."""

    def __init__(self, loader: Any):
        self._loader = loader

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        uninstall()
        with filtered_stderr():
            self._loader.exec_module(module)
            _after_import(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class _TensorFlowFinder:
    """Wraps the loader of the first `import tensorflow`; leaves every other import alone."""

    def __init__(self) -> None:
        self._looking = False

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "tensorflow" or self._looking or debug_enabled():
            return None
        from importlib.util import find_spec

        # The other finders locate TensorFlow; this one only wraps what they find.
        self._looking = True
        try:
            spec = find_spec(name)
        finally:
            self._looking = False
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


_FINDER = _TensorFlowFinder()


def install() -> None:
    """Quiet TensorFlow's start-up unless TOOLKIT_DEBUG is set or it is already imported."""
    if debug_enabled() or "tensorflow" in sys.modules:
        return
    # C++ messages after start-up follow TF_CPP_MIN_LOG_LEVEL; the user's own value wins.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", DEFAULT_LEVEL)
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def uninstall() -> None:
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


class _RetracingFilter:
    """Drops TensorFlow's hint that a function was traced again: scoring several models one
    after another traces each one's predict step, which is expected and costs a second."""

    def filter(self, record: Any) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


@contextmanager
def retracing_hints_off() -> Iterator[None]:
    """Within the block, TensorFlow's retracing hints are not logged."""
    import logging

    logger, hint_filter = logging.getLogger("tensorflow"), _RetracingFilter()
    logger.addFilter(hint_filter)
    try:
        yield
    finally:
        logger.removeFilter(hint_filter)
