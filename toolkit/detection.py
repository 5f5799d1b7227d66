"""Keyword detection in long recordings with a clip classifier.

The classifier is slid over the audio: one window of a clip's length ends every `hop_ms`.
Its probabilities are averaged over the last `smoothing_ms` of windows, and a detection is a
stretch of windows in which the most probable keyword's average stays at or above
`threshold`. It is named by the keyword with the highest average in the stretch, which is its
score: a word whose windows waver between two keywords (entering and leaving it, the
classifier sees parts of it) is one detection, not two.

One TensorFlow function serves a whole recording (`toolkit detect`, the SavedModel's
`detect` signature) and a stream fed in chunks (the `stream` signature). Its state holds the
last clip of audio, the probabilities being averaged and the detection still open, so chunks
of any size give the detections of the whole recording. The network runs on whole windows,
so every backbone streams, bidirectional ones included, at the cost of one clip
classification per hop.

Where the windows of a detection overlap says roughly where its word is; the start and end
reported are those of the sound there (see `SPEECH_RANGE_DB`), which the state's audio (two
clips long) still holds when the detection closes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from toolkit.audio.tts import is_catch_all
from toolkit.errors import ToolkitError

# A window whose loudest sample is under -60 dBFS holds no speech (digital silence, the zeros
# before a stream starts): it scores no keyword, whatever the classifier would say of it.
SILENCE_PEAK = 10.0 ** (-60.0 / 20.0)
BATCH_WINDOWS = 32
# A detection's start and end: the 10 ms frames around its loudest frame within this many dB
# of it, gaps shorter than GAP_MS (a stop consonant's closure) bridged.
SPEECH_RANGE_DB = 30.0
GAP_MS = 100.0
ABOVE_BACKGROUND_DB = 10.0  # and this far above the background (noise) around it
# The open detection in the state: open flag, keyword, its first and last window (as windows
# before the last one processed, which keeps the numbers small in float32), best score.
EVENT_FIELDS = 5


@dataclass(frozen=True)
class DetectionSettings:
    hop_ms: float = 100.0
    smoothing_ms: float = 300.0
    threshold: float = 0.5

    def check(self, clip_ms: float) -> None:
        if not 0 < self.hop_ms <= clip_ms:
            raise ToolkitError(
                f"hop {self.hop_ms:g} ms: must be positive and at most the clip ({clip_ms:g} ms)"
            )
        if self.smoothing_ms < 0:
            raise ToolkitError(f"smoothing {self.smoothing_ms:g} ms: must be 0 or more")
        if not 0 < self.threshold < 1:
            raise ToolkitError(f"threshold {self.threshold:g}: must be between 0 and 1")


class KeywordDetector(tf.Module):
    """Detections of `classify` (windows [n, clip_samples] -> probabilities [n, labels])
    slid over audio at `sample_rate`. Labels such as `_silence_` or `_unknown_` are never
    detected."""

    def __init__(
        self,
        classify: Callable[[tf.Tensor], tf.Tensor],
        labels: list[str],
        sample_rate: int,
        clip_samples: int,
        settings: DetectionSettings,
    ):
        super().__init__(name="keyword_detector")
        settings.check(1000.0 * clip_samples / sample_rate)
        keywords = [not is_catch_all(label) for label in labels]
        if not any(keywords):
            raise ToolkitError(
                f"labels {', '.join(labels)}: none is a keyword (all stand for silence or "
                "anything else)"
            )
        self._classify = classify
        self.labels = list(labels)
        self.settings = settings
        self.sample_rate = sample_rate
        self.window = clip_samples
        self.hop = max(1, round(sample_rate * settings.hop_ms / 1000.0))
        self.smoothing = max(1, round(settings.smoothing_ms / settings.hop_ms))
        self.audio_kept = 2 * clip_samples
        self.frame = max(1, sample_rate // 100)
        self.state_size = self.audio_kept + (self.smoothing - 1) * len(labels) + EVENT_FIELDS
        self._keyword_mask = tf.constant(keywords, tf.float32)
        self._label_names = tf.constant(self.labels)

    def initial_state(self) -> np.ndarray:
        return np.zeros(self.state_size, np.float32)

    def flush_samples(self) -> int:
        """Silence that closes every detection still open at the end of a recording: until
        no window holds its audio, then until the average has forgotten those windows."""
        return self.window + self.smoothing * self.hop

    def detect(self, waveform: tf.Tensor) -> dict[str, tf.Tensor]:
        """Detections in a whole recording (float32 [samples] at the model's rate)."""
        audio = tf.concat(
            [tf.reshape(tf.cast(waveform, tf.float32), [-1]), tf.zeros([self.flush_samples()])],
            0,
        )
        found = self.process(audio, tf.zeros([self.state_size]), tf.constant(0, tf.int64))
        return {key: found[key] for key in ("keywords", "starts", "ends", "scores")}

    def process(
        self, chunk: tf.Tensor, state: tf.Tensor, position: tf.Tensor
    ) -> dict[str, tf.Tensor]:
        """The detections closed by `chunk` (float32 samples following the `position`
        samples already fed), with the state and position to pass with the next chunk."""
        window, hop, smoothing, kept = self.window, self.hop, self.smoothing, self.audio_kept
        classes = len(self.labels)
        chunk = tf.reshape(tf.cast(chunk, tf.float32), [-1])
        state = tf.reshape(tf.cast(state, tf.float32), [self.state_size])
        position = tf.cast(position, tf.int64)
        history_end = kept + (smoothing - 1) * classes
        history = tf.reshape(state[kept:history_end], [smoothing - 1, classes])
        event = state[history_end:]

        # `extended` holds the stream from sample position - kept on; window k ends at
        # sample (k + 1) * hop of the stream.
        extended = tf.concat([state[:kept], chunk], 0)
        offset = position - kept
        end_position = position + tf.size(chunk, out_type=tf.int64)
        done_before = position // hop
        done_after = end_position // hop
        first_end = (done_before + 1) * hop - offset
        ends = first_end + tf.range(done_after - done_before) * hop
        probabilities = self._classify_windows(extended, ends - window)

        combined = tf.concat([history, probabilities], 0)
        count = tf.shape(probabilities)[0]
        smoothed = tf.add_n([combined[shift : shift + count] for shift in range(smoothing)])
        smoothed = smoothed / float(smoothing)

        records, event = self._track(smoothed, event, done_before)
        closed = tf.boolean_mask(records, records[:, 0] > 0.5)
        keywords = tf.gather(self._label_names, tf.cast(closed[:, 1], tf.int32))
        starts, ends_seconds = self._extent(
            extended, offset, self._middle(closed[:, 2], closed[:, 3]), closed[:, 5]
        )
        new_state = tf.concat([extended[-kept:], tf.reshape(combined[count:], [-1]), event], 0)
        return {
            "keywords": keywords,
            "starts": starts,
            "ends": ends_seconds,
            "scores": tf.cast(closed[:, 4], tf.float32),
            "state": tf.ensure_shape(new_state, [self.state_size]),
            "position": end_position,
        }

    def _classify_windows(self, extended: tf.Tensor, starts: tf.Tensor) -> tf.Tensor:
        """Probabilities of the windows starting at `starts` in `extended`, a batch at a time;
        windows of silence score zero for every class."""
        classes = len(self.labels)
        count = tf.size(starts)
        batches = (count + BATCH_WINDOWS - 1) // BATCH_WINDOWS
        offsets = tf.range(self.window, dtype=tf.int64)

        def classify_batch(index, results):
            batch_starts = starts[index * BATCH_WINDOWS : (index + 1) * BATCH_WINDOWS]
            windows = tf.gather(extended, batch_starts[:, None] + offsets[None, :])
            probabilities = tf.cast(self._classify(windows), tf.float32)
            audible = tf.reduce_max(tf.abs(windows), axis=1) >= SILENCE_PEAK
            probabilities = tf.where(audible[:, None], probabilities, 0.0)
            return index + 1, results.write(index, probabilities)

        results = tf.TensorArray(
            tf.float32, size=batches, element_shape=[None, classes], infer_shape=False
        )
        _, results = tf.while_loop(
            lambda index, _: index < batches, classify_batch, (tf.constant(0), results)
        )
        return tf.cond(
            batches > 0,
            lambda: tf.reshape(results.concat(), [-1, classes]),
            lambda: tf.zeros([0, classes]),
        )

    def _track(
        self, smoothed: tf.Tensor, event: tf.Tensor, done_before: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Open, extend and close detections window by window; a detection takes the keyword
        of its best average so far. Returns one record per window
        (closed flag, keyword, first and last window, best score, this window) and the open
        detection."""
        threshold = self.settings.threshold
        previous = tf.cast(done_before, tf.float64) - 1.0
        initial = (
            tf.constant(0),
            event[0] > 0.5,
            tf.cast(event[1], tf.int32),
            previous - tf.cast(event[2], tf.float64),
            previous - tf.cast(event[3], tf.float64),
            event[4],
            tf.TensorArray(tf.float64, size=tf.shape(smoothed)[0], element_shape=[6]),
        )

        def step(index, is_open, label, first, last, best, records):
            scores = smoothed[index] * self._keyword_mask
            winner = tf.argmax(scores, output_type=tf.int32)
            score = scores[winner]
            active = score >= threshold
            current = previous + 1.0 + tf.cast(index, tf.float64)
            closes = is_open & tf.logical_not(active)
            records = records.write(
                index,
                tf.stack(
                    [
                        tf.cast(closes, tf.float64),
                        tf.cast(label, tf.float64),
                        first,
                        last,
                        tf.cast(best, tf.float64),
                        current,
                    ]
                ),
            )
            starts_new = active & tf.logical_not(is_open)
            better = active & is_open & (score > best)
            return (
                index + 1,
                active,
                tf.where(starts_new | better, winner, label),
                tf.where(starts_new, current, first),
                tf.where(active, current, last),
                tf.where(starts_new, score, tf.where(active, tf.maximum(best, score), best)),
                records,
            )

        final = tf.while_loop(lambda index, *_: index < tf.shape(smoothed)[0], step, initial)
        _, is_open, label, first, last, best, records = final
        last_done = previous + tf.cast(tf.shape(smoothed)[0], tf.float64)
        is_open_value = tf.cast(is_open, tf.float32)
        event = tf.stack(
            [
                is_open_value,
                tf.cast(label, tf.float32) * is_open_value,
                tf.cast(last_done - first, tf.float32) * is_open_value,
                tf.cast(last_done - last, tf.float32) * is_open_value,
                best * is_open_value,
            ]
        )
        return tf.reshape(records.stack(), [-1, 6]), event

    def _middle(self, first: tf.Tensor, last: tf.Tensor) -> tf.Tensor:
        """The middle (stream sample) of what every window of a detection (averages
        `first`..`last`, moved back by the half-width of the average) holds; the middle of
        their windows when they hold nothing in common."""
        delay = (self.smoothing - 1) / 2.0
        common_start = (last - delay + 1.0) * self.hop - self.window
        common_end = (first - delay + 1.0) * self.hop
        return (common_start + common_end) / 2.0

    def _extent(
        self, extended: tf.Tensor, offset: tf.Tensor, middle: tf.Tensor, closing: tf.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Start and end (seconds) of the sound around each `middle`: in a clip-long stretch
        centred there, the 10 ms frames within SPEECH_RANGE_DB of the loudest frame of its
        central half, reaching out from it across gaps shorter than GAP_MS. The stretch stays
        within the audio kept before the `closing` window's end, which a stream in chunks of
        any size still holds: a detection longer than that is measured the same either way."""
        frame = self.frame
        frames = self.window // frame
        span = frames * frame
        closing_end = (tf.cast(closing, tf.int64) + 1) * self.hop - offset
        first = tf.cast(tf.round(middle), tf.int64) - offset - span // 2
        first = tf.clip_by_value(first, closing_end - self.audio_kept, closing_end - span)
        audio = tf.gather(extended, first[:, None] + tf.range(span, dtype=tf.int64)[None, :])
        energy = tf.reduce_mean(tf.square(tf.reshape(audio, [-1, frames, frame])), axis=2)
        level = 10.0 * tf.math.log(energy + 1e-10) / tf.math.log(10.0)

        index = tf.range(frames)
        centre = (middle - tf.cast(offset + first, tf.float64)) / frame
        central = tf.abs(tf.cast(index, tf.float64)[None, :] + 0.5 - centre[:, None]) <= (
            frames / 4.0
        )
        peak = tf.argmax(tf.where(central, level, -1e9), axis=1, output_type=tf.int32)
        loudest = tf.gather(level, peak, batch_dims=1)
        # The background's level: the tenth-quietest percent of the stretch's frames.
        quiet = tf.sort(level, axis=1)[:, frames // 10]
        floor = tf.maximum(loudest - SPEECH_RANGE_DB, quiet + ABOVE_BACKGROUND_DB)
        above = level >= floor[:, None]

        gap = max(1, round(GAP_MS * self.sample_rate / 1000.0 / frame))
        far = frames + gap + 1
        marks = tf.where(above, index[None, :], -far)
        before = tf.transpose(tf.scan(tf.maximum, tf.transpose(marks)))  # last loud frame <= i
        previous = tf.concat([tf.fill([tf.shape(marks)[0], 1], -far), before[:, :-1]], 1)
        opens = above & (index[None, :] - previous > gap)
        marks = tf.where(above, index[None, :], far + frames)
        after = tf.reverse(
            tf.transpose(tf.scan(tf.minimum, tf.transpose(tf.reverse(marks, [1])))), [1]
        )
        following = tf.concat([after[:, 1:], tf.fill([tf.shape(marks)[0], 1], far + frames)], 1)
        closes = above & (following - index[None, :] > gap)
        start_frame = tf.reduce_max(
            tf.where(opens & (index[None, :] <= peak[:, None]), index[None, :], 0), axis=1
        )
        end_frame = tf.reduce_min(
            tf.where(closes & (index[None, :] >= peak[:, None]), index[None, :], frames - 1),
            axis=1,
        )
        origin = tf.cast(offset + first, tf.float64)
        rate = float(self.sample_rate)
        start = origin + tf.cast(start_frame * frame, tf.float64)
        end = origin + tf.cast((end_frame + 1) * frame, tf.float64)
        return tf.maximum(start, 0.0) / rate, tf.maximum(end, 0.0) / rate
