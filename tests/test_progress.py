"""Progress lines: throttled, silent for short steps, readable in a pipe."""

from __future__ import annotations

import logging

from toolkit.progress import Progress, format_bytes, format_seconds, track


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def _logger() -> tuple[logging.Logger, list[str]]:
    logger = logging.getLogger("toolkit.test_progress")
    logger.handlers.clear()
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = Lines()
    logger.addHandler(handler)
    return logger, handler.lines


def test_a_short_step_says_nothing():
    logger, lines = _logger()
    clock = Clock()
    with Progress("checking", 1000, clock=clock, logger=logger) as progress:
        for _ in range(1000):
            clock.now += 0.001
            progress.update()
    assert lines == []


def test_lines_are_throttled_and_end_with_a_summary():
    logger, lines = _logger()
    clock = Clock()
    items = list(range(100))
    for _ in track(items, "checking audio", clock=clock, logger=logger, first_after=2, every=10):
        clock.now += 0.5  # 50 s in all: lines after 2 s, then every 10 s
    assert len(lines) == 6
    assert lines[0] == "checking audio: 4/100 (4%), 2 s elapsed, eta 48 s"
    assert lines[1] == "checking audio: 24/100 (24%), 12 s elapsed, eta 38 s"
    assert lines[-1] == "checking audio: 100 done in 50 s"


def test_unknown_total_and_bytes():
    logger, lines = _logger()
    clock = Clock()
    progress = Progress("downloading a.tar.gz", None, unit="bytes", clock=clock, logger=logger)
    clock.now += 3
    progress.update(5_500_000)
    assert lines == ["downloading a.tar.gz: 5.5 MB, 3 s elapsed"]


def test_a_resumed_count_estimates_from_what_it_fetched():
    logger, lines = _logger()
    clock = Clock()
    progress = Progress("download", 1000, done=500, clock=clock, logger=logger)
    clock.now += 5
    progress.update(100)  # 100 in 5 s, 400 to go
    assert lines == ["download: 600/1,000 (60%), 5 s elapsed, eta 20 s"]


def test_an_interrupted_step_adds_no_summary():
    logger, lines = _logger()
    clock = Clock()
    try:
        with Progress("x", 10, clock=clock, logger=logger) as progress:
            clock.now += 3
            progress.update()
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert lines == ["x: 1/10 (10%), 3 s elapsed, eta 27 s"]


def test_formats():
    assert format_seconds(42.4) == "42 s"
    assert format_seconds(192) == "3 min 12 s"
    assert format_seconds(3 * 3600 + 125) == "3 h 02 min"
    assert format_bytes(999) == "999 B"
    assert format_bytes(1_250_000) == "1.2 MB"
    assert format_bytes(6.3e9) == "6.3 GB"


def test_keras_predict_callback_counts_batches():
    import keras
    import numpy as np

    from toolkit.progress import keras_progress

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    callback = keras_progress("evaluating test", 3)
    model.predict(np.zeros((10, 2), "float32"), batch_size=4, verbose=0, callbacks=[callback])
    assert callback.progress.done == 3
