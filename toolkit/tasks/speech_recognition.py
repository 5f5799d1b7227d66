"""Speech recognition with CTC: waveforms of any length in, transcripts out.

The model takes `{"waveforms": [batch, samples], "lengths": [batch]}` at the task's sample
rate and returns per-frame logits over the blank (id 0) and the characters (ids 1..V), with
padded frames forced to blank. Decoding runs in TensorFlow ops (greedy, beam search, and beam
search with a word n-gram language model, `toolkit.speech.graph_lm_decoder`), so the exported
SavedModel returns the transcripts the run's metrics were measured on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from toolkit import atomic
from toolkit.config import ExportConfig, SpeechAugmentConfig
from toolkit.errors import DataError, RecipeError, ToolkitError
from toolkit.tasks.audio import AudioTask
from toolkit.tasks.base import Task

log = logging.getLogger("toolkit")
DECODERS = ("greedy", "beam", "beam_lm")
# The name of output 0 (the CTC blank) among the output units' names.
BLANK = "<blank>"


class SpeechRecognition(AudioTask):
    """Transcript handling, CTC head and loss, decoding, WER/CER and export signatures."""

    name = "speech_recognition"
    augment_config = SpeechAugmentConfig
    required_columns = ("audio", "transcript")
    stratify_column = None
    default_monitor = "val_wer"
    output_setting = "alphabet"
    source_settings = ("sample_rate", "units", "subword_vocabulary_size", "subword_model_file")
    output_layers = {"logits": "last"}

    def __init__(
        self,
        sample_rate: int = 16000,
        lowercase: bool = True,
        punctuation: Literal["remove", "keep"] = "remove",
        alphabet: list[str] | str | None = None,
        unknown_characters: Literal["error", "drop"] = "error",
        units: Literal["characters", "sentencepiece"] = "characters",
        subword_vocabulary_size: int = 128,
        subword_model_file: str | None = None,
        max_duration: float = 30.0,
        decoder: Literal["greedy", "beam", "beam_lm"] = "beam",
        beam_width: int = 10,
        language_model_file: str | None = None,
        language_model_order: int = 0,
        lm_weight: float = 0.5,
        word_bonus: float = 1.0,
        unknown_word_penalty: float = 10.0,
        head_dropout_rate: float = 0.1,
        length_buckets: int = 8,
    ):
        from toolkit.speech.transcripts import PUNCTUATION_MODES

        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        if punctuation not in PUNCTUATION_MODES:
            raise ValueError(f"punctuation must be one of {PUNCTUATION_MODES}, got {punctuation!r}")
        if unknown_characters not in ("error", "drop"):
            raise ValueError(
                f"unknown_characters must be error or drop, got {unknown_characters!r}"
            )
        if decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}, got {decoder!r}")
        if decoder == "beam_lm" and not language_model_file and language_model_order < 1:
            raise ValueError(
                "decoder beam_lm needs a language model: set language_model_file (ARPA) or "
                "language_model_order (an n-gram built from the training transcripts)"
            )
        if units not in ("characters", "sentencepiece"):
            raise ValueError(f"units must be characters or sentencepiece, got {units!r}")
        if unknown_word_penalty < 0:
            raise ValueError(
                f"unknown_word_penalty must be 0 or more (log10 units), got {unknown_word_penalty}"
            )
        if beam_width < 1:
            raise ValueError(f"beam_width must be at least 1, got {beam_width}")
        self.sample_rate = int(sample_rate)
        self.lowercase = bool(lowercase)
        self.punctuation = punctuation
        self.alphabet = list(alphabet) if alphabet else None
        self.unknown_characters = unknown_characters
        self.units = units
        self.subword_vocabulary_size = int(subword_vocabulary_size)
        # Written to the run directory when training starts without one.
        self.subword_model_file = subword_model_file
        self._subwords = None
        self.max_duration = float(max_duration)
        self.decoder = decoder
        self.beam_width = int(beam_width)
        self.language_model_file = language_model_file
        self.language_model_order = int(language_model_order)
        self.lm_weight = float(lm_weight)
        self.word_bonus = float(word_bonus)
        self.unknown_word_penalty = float(unknown_word_penalty)
        self.head_dropout_rate = float(head_dropout_rate)
        self.length_buckets = int(length_buckets)
        self._language_model = None
        self._language_model_graph = None
        self._language_model_decode = None
        # What `evaluate` scores (set_evaluation_decoder).
        self.evaluation_decoders: tuple[str, ...] = DECODERS

    def get_config(self) -> dict[str, Any]:
        return {
            "sample_rate": self.sample_rate,
            "lowercase": self.lowercase,
            "punctuation": self.punctuation,
            "alphabet": self.alphabet,
            "unknown_characters": self.unknown_characters,
            "units": self.units,
            "subword_vocabulary_size": self.subword_vocabulary_size,
            "subword_model_file": self.subword_model_file,
            "max_duration": self.max_duration,
            "decoder": self.decoder,
            "beam_width": self.beam_width,
            "language_model_file": self.language_model_file,
            "language_model_order": self.language_model_order,
            "lm_weight": self.lm_weight,
            "word_bonus": self.word_bonus,
            "unknown_word_penalty": self.unknown_word_penalty,
            "head_dropout_rate": self.head_dropout_rate,
            "length_buckets": self.length_buckets,
        }

    def register_layers(self) -> None:
        import toolkit.audio.augment  # noqa: F401  (SpecAugment, FrequencyWarp)
        import toolkit.speech.ctc  # noqa: F401  (BlankPadding)

    # Data ----------------------------------------------------------------------------

    def normalize(self, text: Any) -> str:
        from toolkit.speech.transcripts import normalize_transcript

        return normalize_transcript(text, self.lowercase, self.punctuation)

    def check_splits(
        self, splits: dict[str, pd.DataFrame], *, on_error: str, skipped: list[dict]
    ) -> dict[str, pd.DataFrame]:
        """Readable, non-silent audio; non-empty transcripts in the alphabet; training
        utterances longer than `max_duration` left out (listed)."""
        from toolkit.data.audio_check import check_audio_rows
        from toolkit.data.speech_check import drop_long, drop_silent, fit_alphabet
        from toolkit.data.text_check import reject
        from toolkit.speech.transcripts import build_alphabet

        checked = {}
        for name, frame in splits.items():
            frame = check_audio_rows(frame, name, on_error, skipped)
            frame = drop_silent(frame, name, on_error, skipped)
            frame = frame.assign(transcript=[self.normalize(text) for text in frame["transcript"]])
            empty = (frame["transcript"] == "").to_numpy()
            frame = reject(frame, empty, name, "empty transcript", on_error, skipped)
            if name == "train":
                frame = drop_long(frame, self.max_duration, skipped)
            if frame.empty:
                raise DataError(f"{name}: no usable utterances left")
            checked[name] = frame
        if self.alphabet is None:
            self.alphabet = build_alphabet(checked["train"]["transcript"])
        for name, frame in checked.items():
            checked[name] = fit_alphabet(frame, name, self.alphabet, self.unknown_characters)
            if checked[name].empty:
                raise DataError(f"{name}: no usable utterances left")
        if self.units == "sentencepiece" and self.subword_model_file is None:
            self.train_subwords(checked["train"])
        return checked

    def train_subwords(self, train: pd.DataFrame) -> None:
        """A SentencePiece model of the training transcripts, kept in the run directory."""
        from toolkit.speech.subwords import train_subword_model

        if self.run_directory is None:
            raise DataError("subword units are trained when a run starts (toolkit run / train)")
        path = train_subword_model(
            train["transcript"],
            self.subword_vocabulary_size,
            Path(self.run_directory) / "subwords.model",
        )
        self.subword_model_file = str(Path(path).absolute())
        log.info("subword units: %d SentencePiece pieces in %s", len(self.output_units), path)

    @property
    def output_units(self) -> list[str]:
        """Texts of labels 1..V: the alphabet's characters, or the subword pieces."""
        if self.units == "characters":
            return self.alphabet
        if self._subwords is None:
            from toolkit.speech.subwords import SubwordUnits

            self._subwords = SubwordUnits(self.subword_model_file)
        return self._subwords.pieces

    def label_ids(self, frame: pd.DataFrame) -> list[list[int]]:
        if self.units == "sentencepiece":
            self.output_units  # noqa: B018  (loads the model)
            return [[i + 1 for i in self._subwords.encode(text)] for text in frame["transcript"]]
        index = {character: i + 1 for i, character in enumerate(self.alphabet)}
        return [[index[c] for c in text] for text in frame["transcript"]]

    def prepare_training(
        self,
        splits: dict[str, pd.DataFrame],
        *,
        run_dir: Path,
        augment: SpeechAugmentConfig,
        features: Any,
        backbone: Any,
    ) -> list[dict]:
        """Leave out what CTC cannot align; build the language model the recipe asks for."""
        fastest = max(augment.speed_factors) * max(augment.speed_range)
        skipped: list[dict] = []

        def output_frames(samples: int) -> int:
            return backbone.output_length(features.num_frames(samples))

        self.drop_unalignable(splits, skipped, fastest, output_frames)
        self.write_language_model(splits["train"], run_dir)
        return skipped

    def drop_unalignable(
        self,
        splits: dict[str, pd.DataFrame],
        skipped: list[dict],
        speed: float,
        output_frames: Callable[[int], int],
    ) -> None:
        """Training and validation utterances with more labels than the model has output
        frames (at the fastest speed perturbation) cannot be aligned by CTC: left out, listed."""
        from toolkit.speech.transcripts import frames_needed

        for name in ("train", "valid"):
            frame = splits[name]
            available = [
                output_frames(int(duration * self.sample_rate / speed))
                for duration in frame["duration"]
            ]
            needed = [frames_needed(ids) for ids in self.label_ids(frame)]
            bad = np.array([n > a for n, a in zip(needed, available, strict=True)], dtype=bool)
            if bad.any():
                log.warning(
                    "%s: %d utterances have more labels than output frames (CTC cannot align "
                    "them); left out of training and listed in skipped.csv",
                    name,
                    int(bad.sum()),
                )
                skipped.extend(
                    {
                        "split": name,
                        "source": row.source,
                        "audio": row.audio,
                        "reason": "audio too short for its transcript",
                    }
                    for row in frame[bad].itertuples()
                )
                splits[name] = frame[~bad].reset_index(drop=True)
                if splits[name].empty:
                    raise DataError(
                        f"{name}: every utterance is too short for its transcript; use a "
                        "backbone with less time striding or a shorter features.hop_ms"
                    )

    def summary(self, splits: dict[str, pd.DataFrame], *, min_examples: int) -> list[str]:
        lines = [
            f"{len(self.alphabet)} characters: {''.join(self.alphabet)!r}"
            + (
                f" ({len(self.output_units)} subword units)"
                if self.units == "sentencepiece"
                else ""
            )
            + "; utterances per split: "
            + ", ".join(f"{name} {len(frame)}" for name, frame in splits.items())
        ]
        for name, frame in splits.items():
            durations = frame["duration"]
            rates = ", ".join(
                f"{int(rate)} Hz x{count}"
                for rate, count in frame["file_rate"].value_counts().items()
            )
            lines.append(
                f"{name}: {durations.sum() / 3600:.2f} h; {rates}; duration "
                f"{durations.min():.2f}-{durations.max():.2f} s (median {durations.median():.2f} s); "
                f"transcript length {frame['transcript'].str.len().min()}-"
                f"{frame['transcript'].str.len().max()} characters"
            )
        return lines

    def dataset(
        self,
        frame: pd.DataFrame,
        *,
        batch_size: int,
        training: bool,
        augment: SpeechAugmentConfig | None = None,
        resources: np.ndarray | None = None,
        cache: bool = True,
        seed: int = 0,
    ):
        from toolkit.data.speech_pipeline import bucket_boundaries, speech_dataset

        boundaries = samples = None
        if training:
            samples = (frame["duration"].to_numpy() * self.sample_rate).astype(np.int64)
            boundaries = bucket_boundaries(samples, self.length_buckets)
        return speech_dataset(
            frame["audio"].tolist(),
            self.label_ids(frame),
            self.sample_rate,
            batch_size,
            training,
            augment,
            resources,
            cache,
            seed,
            boundaries,
            lengths=samples,
        )

    # Model ---------------------------------------------------------------------------

    def build_model(self, *, features: Any, backbone: Any, augment: SpeechAugmentConfig):
        """waveforms, lengths -> features -> (warp, SpecAugment) -> backbone -> per-frame logits."""
        import keras

        from toolkit.audio.augment import augment_features
        from toolkit.models.sequence_lengths import KeepsLengths
        from toolkit.speech.ctc import BlankPadding

        if not isinstance(backbone, KeepsLengths):
            raise ValueError(
                f"model {type(backbone).__name__} cannot be used for speech recognition "
                "(it does not keep utterance lengths); use deepspeech2 or quartznet"
            )
        waveforms = keras.Input(shape=(None,), name="waveforms")
        lengths = keras.Input(shape=(), dtype="int32", name="lengths")
        hidden, frames = features(waveforms, lengths=lengths)
        hidden = augment_features(hidden, augment, features)
        hidden, frames = backbone(hidden, lengths=frames)
        hidden = keras.layers.Dropout(self.head_dropout_rate, name="head_dropout")(hidden)
        logits = keras.layers.Dense(len(self.output_units) + 1, dtype="float32", name="logits")(
            hidden
        )
        logits = BlankPadding(name="blank_padding")(logits, frames)
        return keras.Model(
            {"waveforms": waveforms, "lengths": lengths}, logits, name="speech_recognizer"
        )

    def loss(self, *, model: Any):
        from toolkit.speech.ctc import ctc_loss

        return ctc_loss

    def metrics(self) -> list:
        return []

    def validation_callbacks(self, *, valid: pd.DataFrame, batch_size: int) -> list:
        """Greedy WER and CER on the validation split after every epoch."""
        from toolkit.speech.scoring import error_rates
        from toolkit.validation_scores import ValidationScores

        references = list(valid["transcript"])

        def score(model) -> dict[str, float]:
            hypotheses = self.transcribe(model, valid, batch_size, ("greedy",))["greedy"]
            rates = error_rates(references, hypotheses)
            return {"val_wer": rates["wer"], "val_cer": rates["cer"]}

        return [ValidationScores(score)]

    # Fine-tuning ---------------------------------------------------------------------

    def output_names(self) -> list[str]:
        return [BLANK, *self.output_units]

    def adopt_source_outputs(self, *, source: Task) -> bool:
        """Transcripts written with the source's characters keep its alphabet (its output
        layer continues); new characters need a new output layer, which subword units
        learnt from other transcripts cannot have."""
        source_alphabet = source.get_config()["alphabet"]
        new = sorted(set(self.alphabet) - set(source_alphabet))
        if not new:
            self.alphabet = list(source_alphabet)
            return True
        if self.units == "sentencepiece":
            raise DataError(
                f"train: characters {''.join(new)!r} are not in the source model's alphabet, "
                "and its subword units cannot spell them; fine-tune a model with "
                "task.units: characters, or train from scratch"
            )
        return False

    # Decoding ------------------------------------------------------------------------

    def language_model(self):
        """The n-gram model for beam_lm: the ARPA file given, or the one built from the
        training transcripts (RUN_DIR/lm.arpa); None without either."""
        from toolkit.speech.lm import read_arpa

        if self._language_model is None:
            path = self.language_model_file
            if not path and self.language_model_order > 0 and self.run_directory is not None:
                built = Path(self.run_directory) / "lm.arpa"
                path = str(built) if built.is_file() else None
            if path:
                self._language_model = read_arpa(path)
        return self._language_model

    def write_language_model(self, train: pd.DataFrame, run_dir: Path) -> Path | None:
        """Build RUN_DIR/lm.arpa from the training transcripts when the recipe asks for one."""
        from toolkit.speech.lm import build_arpa

        if self.language_model_file or self.language_model_order < 1:
            return None
        path = Path(run_dir) / "lm.arpa"
        build_arpa(list(train["transcript"]), self.language_model_order, path)
        log.info(
            "language model: %d-gram from the training transcripts in %s",
            self.language_model_order,
            path,
        )
        return path

    def logits_batches(
        self, model: Any, frame: pd.DataFrame, batch_size: int
    ) -> Iterator[tuple[np.ndarray, Any]]:
        """(row positions, logits) per batch of the frame's audio files, utterances sorted by
        length to keep padding small."""
        order = np.argsort(frame["duration"].to_numpy(), kind="stable")
        ordered = frame.iloc[order].reset_index(drop=True)
        data = self.dataset(ordered, batch_size=batch_size, training=False, cache=False)
        start = 0
        for inputs, _ in data:
            logits = model(inputs, training=False)
            count = int(logits.shape[0])
            yield order[start : start + count], logits
            start += count

    @staticmethod
    def waveform_logits_batches(
        model: Any, waveforms: list[np.ndarray], batch_size: int
    ) -> Iterator[tuple[np.ndarray, Any]]:
        """(positions, logits) per batch of in-memory waveforms, sorted by length."""
        order = np.argsort([len(waveform) for waveform in waveforms], kind="stable")
        for start in range(0, len(order), batch_size):
            positions = order[start : start + batch_size]
            lengths = np.array([len(waveforms[i]) for i in positions], dtype=np.int32)
            padded = np.zeros((len(positions), int(lengths.max())), dtype=np.float32)
            for row, i in enumerate(positions):
                padded[row, : lengths[row]] = waveforms[i]
            yield positions, model({"waveforms": padded, "lengths": lengths}, training=False)

    def transcribe(
        self, model: Any, frame: pd.DataFrame, batch_size: int, decoders: tuple[str, ...]
    ) -> dict[str, list[str]]:
        """Hypotheses for every row of the frame, for each decoder asked for."""
        batches = self.logits_batches(model, frame, batch_size)
        return self.decode_batches(batches, len(frame), decoders)

    def language_model_graph(self):
        """The in-graph beam search with the run's language model (built once); None without
        a language model."""
        from toolkit.speech.ctc import SUBWORD_SPACE
        from toolkit.speech.graph_lm_decoder import LanguageModelGraph

        if self._language_model_graph is None and self.language_model() is not None:
            self._language_model_graph = LanguageModelGraph(
                self.language_model(),
                [unit.replace(SUBWORD_SPACE, " ") for unit in self.output_units],
                beam_width=self.beam_width,
                lm_weight=self.lm_weight,
                word_bonus=self.word_bonus,
                unknown_word_penalty=self.unknown_word_penalty,
            )
        return self._language_model_graph

    def decode_with_language_model(self, logits: Any) -> list[str]:
        """Beam + LM transcripts of a batch of logits (the run must have an LM): in the graph,
        or with the Python decoder for a language model too large for the graph's tables."""
        import tensorflow as tf

        if self._language_model_decode is None:
            try:
                graph = self.language_model_graph()
            except ToolkitError as error:
                log.warning("warning: %s; decoding with the (slower) Python decoder", error)
                self._language_model_decode = self._python_language_model_decode
            else:
                self._language_model_decode = tf.function(
                    lambda logits: graph.transcribe(tf.nn.log_softmax(logits)),
                    input_signature=[
                        tf.TensorSpec([None, None, len(self.output_units) + 1], tf.float32)
                    ],
                )
        texts = self._language_model_decode(tf.cast(logits, tf.float32))
        return [
            text if isinstance(text, str) else text.decode("utf-8") for text in np.asarray(texts)
        ]

    def _python_language_model_decode(self, logits: Any) -> list[str]:
        import tensorflow as tf

        from toolkit.speech.ctc import SUBWORD_SPACE
        from toolkit.speech.lm_decoder import decode_with_language_model

        return decode_with_language_model(
            tf.nn.log_softmax(logits).numpy().astype(np.float64),
            [unit.replace(SUBWORD_SPACE, " ") for unit in self.output_units],
            self.language_model(),
            self.beam_width,
            self.lm_weight,
            self.word_bonus,
            self.unknown_word_penalty,
        )

    def decode_batches(
        self, batches: Iterator[tuple[np.ndarray, Any]], count: int, decoders: tuple[str, ...]
    ) -> dict[str, list[str]]:
        """Hypotheses for `count` utterances from (positions, logits) batches, for each
        decoder asked for ("beam_lm" only where there is a language model)."""
        import tensorflow as tf

        from toolkit.progress import Progress
        from toolkit.speech.ctc import decode_to_text

        units = tf.constant(self.output_units)
        subwords = self.units == "sentencepiece"
        if "beam_lm" in decoders and self.language_model() is None:
            decoders = tuple(name for name in decoders if name != "beam_lm")
        results = {name: [""] * count for name in decoders}
        progress = Progress("transcribing", count)
        for positions, logits in batches:
            for name in decoders:
                if name == "beam_lm":
                    texts = self.decode_with_language_model(logits)
                else:
                    width = 1 if name == "greedy" else self.beam_width
                    texts = [
                        t.decode("utf-8")
                        for t in decode_to_text(logits, units, subwords, width).numpy()
                    ]
                for position, text in zip(positions, texts, strict=True):
                    results[name][position] = text
            progress.update(len(positions))
        progress.close()
        return results

    # Evaluation ----------------------------------------------------------------------

    def evaluate(
        self, *, model: Any, frame: pd.DataFrame, split: str, output_dir: Path, batch_size: int
    ) -> dict[str, Any]:
        """WER and CER for greedy, beam and (with a language model) beam + LM decoding; the
        recipe's decoder gives `wer`/`cer`. The worst utterances go to errors_<split>.csv."""
        import time

        from toolkit.speech.scoring import error_rates, utterance_errors

        references = list(frame["transcript"])
        started = time.perf_counter()
        hypotheses = self.transcribe(model, frame, batch_size, self.evaluation_decoders)
        seconds = time.perf_counter() - started
        metrics: dict[str, Any] = {}
        for name, texts in hypotheses.items():
            rates = error_rates(references, texts)
            metrics[f"{name}_wer"] = rates["wer"]
            metrics[f"{name}_cer"] = rates["cer"]
        chosen = self.decoder if self.decoder in hypotheses else next(iter(hypotheses))
        if self.decoder == "beam_lm" and "beam_lm" not in hypotheses and "beam" in hypotheses:
            chosen = "beam"
        metrics = {
            "wer": metrics[f"{chosen}_wer"],
            "cer": metrics[f"{chosen}_cer"],
            "decoder": chosen,
            "utterances": len(frame),
            "audio_seconds": round(float(frame["duration"].sum()), 1),
            "decoding_seconds": round(seconds, 1),
            **metrics,
        }
        table = utterance_errors(frame, references, hypotheses[chosen])
        table.pipe(atomic.write_csv, Path(output_dir) / f"errors_{split}.csv")
        return metrics

    def set_evaluation_decoder(self, decoder: str) -> None:
        if decoder != "all" and decoder not in DECODERS:
            raise RecipeError(
                f"--decoder: {decoder!r} is not a decoder (choose from {', '.join(DECODERS)}, or all)"
            )
        if decoder == "beam_lm" and self.language_model() is None:
            raise RecipeError(
                "--decoder beam_lm: this run has no language model (set task.language_model_file "
                "or task.language_model_order and train again)"
            )
        self.evaluation_decoders = DECODERS if decoder == "all" else (decoder,)

    def predict(
        self, *, model: Any, inputs: list[Any], names: list[str], top_k: int, batch_size: int
    ) -> pd.DataFrame:
        """Transcripts of waveforms at the task's rate with the recipe's decoder (beam search
        where beam_lm has no language model)."""
        decoder = self.decoder if self.decoder != "beam_lm" or self.language_model() else "beam"
        batches = self.waveform_logits_batches(model, inputs, batch_size)
        texts = self.decode_batches(batches, len(inputs), (decoder,))[decoder]
        return pd.DataFrame({"audio": names, "transcript": texts})

    # Export --------------------------------------------------------------------------

    def export_endpoints(self, *, model: Any, export: ExportConfig) -> dict[str, tuple[Any, list]]:
        """SavedModel signatures: float32 waveforms with their lengths, and 16-bit WAV bytes;
        both return transcripts decoded in the graph with the recipe's decoder (beam search
        with the language model where the run has one, else beam search or greedy)."""
        import tensorflow as tf

        from toolkit.audio import signal
        from toolkit.speech.ctc import decode_to_text

        units = tf.constant(self.output_units)
        subwords = self.units == "sentencepiece"
        sample_rate = self.sample_rate
        width = 1 if self.decoder == "greedy" else self.beam_width
        graph = self.language_model_graph() if self.decoder == "beam_lm" else None

        def transcribe(waveforms, lengths):
            logits = model({"waveforms": waveforms, "lengths": lengths}, training=False)
            if graph is not None:
                return {"transcript": graph.transcribe(tf.nn.log_softmax(logits))}
            return {"transcript": decode_to_text(logits, units, subwords, width)}

        def from_waveforms(waveforms, lengths):
            return transcribe(waveforms, lengths)

        def from_wav_bytes(wav_bytes):
            def decode(item):
                audio, rate = signal.decode_wav(*item)
                return signal.resample(signal.mix_down(audio), rate, sample_rate)

            waveforms = tf.map_fn(
                decode,
                (wav_bytes, tf.range(tf.size(wav_bytes))),
                fn_output_signature=tf.RaggedTensorSpec([None], tf.float32, ragged_rank=0),
            )
            return transcribe(waveforms.to_tensor(), tf.cast(waveforms.row_lengths(), tf.int32))

        decoder = "greedy" if width == 1 else f"beam{width}"
        language_model = "none"
        if graph is not None:
            decoder += "+lm"
            language_model = (
                f"{graph.order}-gram, {graph.word_count} words, lm_weight {self.lm_weight}, "
                f"word_bonus {self.word_bonus}, unknown_word_penalty {self.unknown_word_penalty}"
            )

        def metadata():
            return {
                "alphabet": tf.constant(self.alphabet),
                "units": units,
                "task": tf.constant(self.name),
                "sample_rate": tf.constant(sample_rate),
                "decoder": tf.constant(decoder),
                "language_model": tf.constant(language_model),
            }

        return {
            "serving_default": (
                from_waveforms,
                [
                    tf.TensorSpec([None, None], tf.float32, name="waveforms"),
                    tf.TensorSpec([None], tf.int32, name="lengths"),
                ],
            ),
            "wav_bytes": (from_wav_bytes, [tf.TensorSpec([None], tf.string, name="wav_bytes")]),
            "metadata": (metadata, []),
        }

    def export_resources(self) -> list[Any]:
        graph = self.language_model_graph() if self.decoder == "beam_lm" else None
        return [graph] if graph is not None else []
