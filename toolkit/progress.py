"""Progress of long steps as plain log lines: `what: i/n (pct%), elapsed, eta`.

Lines go through the toolkit logger, at most one every few seconds, so they read the same on a
terminal, in a pipe and in a run's log.txt; a step that ends within a couple of seconds says
nothing at all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

Item = TypeVar("Item")
log = logging.getLogger("toolkit")

# Seconds before the first line (shorter steps stay silent) and between lines.
FIRST_AFTER = 2.0
EVERY = 10.0


def format_seconds(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def format_bytes(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    raise AssertionError("unreachable")


class Progress:
    """Counts work done on `what` and logs it now and then. `total` may be unknown (None);
    `unit="bytes"` shows amounts as MB/GB. Used as a context manager, or call `close()`."""

    def __init__(
        self,
        what: str,
        total: int | None,
        unit: str = "",
        first_after: float = FIRST_AFTER,
        every: float = EVERY,
        done: int = 0,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger = log,
    ):
        self.what, self.total, self.unit = what, total, unit
        self.first_after, self.every = first_after, every
        self.clock, self.logger = clock, logger
        self.done = self.start_done = done
        self.started = clock()
        self.next_line = self.started + first_after
        self.lines = 0

    def _amount(self, value: float) -> str:
        return format_bytes(value) if self.unit == "bytes" else f"{value:,.0f}"

    def message(self) -> str:
        elapsed = self.clock() - self.started
        if not self.total:
            return f"{self.what}: {self._amount(self.done)}, {format_seconds(elapsed)} elapsed"
        share = min(1.0, self.done / self.total)
        text = (
            f"{self.what}: {self._amount(self.done)}/{self._amount(self.total)} "
            f"({100 * share:.0f}%), {format_seconds(elapsed)} elapsed"
        )
        # The rate since this counter started (a resumed download counts only what it fetched).
        fetched = self.done - self.start_done
        if 0 < fetched and self.done < self.total:
            remaining = (self.total - self.done) * elapsed / fetched
            text += f", eta {format_seconds(remaining)}"
        return text

    def update(self, advance: int = 1) -> None:
        self.done += advance
        now = self.clock()
        if now >= self.next_line:
            self.logger.info("%s", self.message())
            self.lines += 1
            self.next_line = now + self.every

    def close(self) -> None:
        """A last line saying it finished, only where earlier lines said it was under way."""
        if self.lines:
            elapsed = self.clock() - self.started
            self.logger.info(
                "%s: %s done in %s", self.what, self._amount(self.done), format_seconds(elapsed)
            )
            self.lines = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind, error, trace) -> None:
        # An interrupted step says nothing more; its error is the news.
        if kind is None:
            self.close()


def track(items: Iterable[Item], what: str, total: int | None = None, **options) -> Iterator[Item]:
    """Yield `items`, logging progress now and then (`total` defaults to `len(items)`)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with Progress(what, total, **options) as progress:
        for item in items:
            yield item
            progress.update()


def keras_progress(what: str, batches: int | None):
    """A Keras callback for `model.predict(..., verbose=0, callbacks=[...])` that logs the
    batches predicted like `Progress` (Keras' own bar suits only a terminal)."""
    import keras

    class _PredictProgress(keras.callbacks.Callback):
        def on_predict_begin(self, logs=None):
            self.progress = Progress(what, batches)

        def on_predict_batch_end(self, batch, logs=None):
            self.progress.update()

        def on_predict_end(self, logs=None):
            self.progress.close()

    return _PredictProgress()
