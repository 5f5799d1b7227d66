"""The fixed recipe blocks (`data`, `augment`, `train`, `export`) as typed dataclasses.

The component blocks (`task`, `features`, `model`) are checked against the constructor of
the class their `type` names instead; see `toolkit.recipes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# Fields whose values are filesystem paths: resolved against the recipe file's folder
# when written in the recipe, against the working directory when given with --set.
PATH = {"path": True}


@dataclass
class DataConfig:
    # A named dataset (see `toolkit data list`) read from `root`, or manifests/folders.
    dataset: str | None = None
    root: str | None = field(default=None, metadata=PATH)
    options: dict = field(default_factory=dict)
    train: str | None = field(default=None, metadata=PATH)
    valid: str | None = field(default=None, metadata=PATH)
    test: str | None = field(default=None, metadata=PATH)
    # Without `valid`, this fraction of train (stratified, seeded) becomes the validation split.
    valid_fraction: float = 0.1
    # Canonical column name -> the manifest's column name, e.g. {audio: path, label: class}.
    columns: dict[str, str] = field(default_factory=dict)
    # "raise": the first bad row stops the run; "skip": bad rows are dropped and listed.
    on_error: Literal["raise", "skip"] = "raise"
    # Bytes that are not UTF-8 in a manifest: "strict" names the line, "replace" substitutes
    # U+FFFD and counts the rows.
    encoding_errors: Literal["strict", "replace"] = "strict"
    # Warn when a class has fewer training examples than this.
    min_examples_per_class: int = 5
    # Keep decoded inputs in memory after the first epoch (small and medium datasets).
    cache: bool = True
    # Synthetic speech: espeak-ng renderings of each label word mixed into training
    # (0 turns it off; labels that are not words get none).
    synthetic_clips_per_label: int = 0
    seed: int = 1234


@dataclass
class AudioAugmentConfig:
    time_shift_ms: float = 0.0
    speed_range: list[float] = field(default_factory=lambda: [1.0, 1.0])
    gain_db_range: list[float] = field(default_factory=lambda: [0.0, 0.0])
    noise_probability: float = 0.0
    noise_snr_db_range: list[float] = field(default_factory=lambda: [5.0, 20.0])
    # A folder of background-noise recordings; null generates white/pink/brown noise.
    noise_folder: str | None = field(default=None, metadata=PATH)
    # Feature augmentation inside the model, during training only: a random stretch of the
    # mel axis by up to this fraction (0.1: factors 0.9-1.1; log-mel features only), then
    # SpecAugment masks.
    frequency_warp: float = 0.0
    time_masks: int = 0
    time_mask_max: int = 10
    frequency_masks: int = 0
    frequency_mask_max: int = 5


@dataclass
class SpeechAugmentConfig(AudioAugmentConfig):
    # Each training utterance is played at one of these speeds, drawn every epoch
    # (speed perturbation; [1.0] turns it off).
    speed_factors: list[float] = field(default_factory=lambda: [1.0])


@dataclass
class NoAugmentConfig:
    """Tasks without data augmentation settings (text): the `augment` block stays empty."""


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    schedule: Literal["constant", "cosine", "plateau"] = "cosine"
    warmup_epochs: float = 0.0
    clip_norm: float | None = None
    # Keep a moving average of the weights (Polyak averaging) with this momentum per step, in
    # [0, 1); validation, checkpoints and the export use the averaged weights. null: off.
    ema_momentum: float | None = None
    early_stopping_patience: int | None = 10
    # Checkpoint selection and early stopping watch this validation metric; null: the task's
    # own (val_accuracy for classification, val_f1 for multi-label and tagging).
    monitor: str | None = None
    # The weights that become the run's model (evaluated and exported): the checkpoint with
    # the best `monitor`, or those after the last epoch run. "last" suits a validation split
    # that cannot tell the models apart, e.g. one from the same few speakers as training.
    select: Literal["best", "last"] = "best"
    # The task's linear baseline (TF-IDF n-grams + logistic regression for text, a CRF over
    # word features for tagging, MFCC statistics + logistic regression for audio clips),
    # fitted on the same splits in seconds to minutes. report: scored beside the model in
    # metrics.json, the summary and plots/baseline.png; select: as report, and whichever of
    # the two scores better on validation becomes the run's model (evaluated, exported).
    baseline: Literal["none", "report", "select"] = "none"
    # Train this many models (seeds seed, seed + 1, ...) and average their class probabilities
    # in one model: N times the training time, for less of the run-to-run spread that data
    # from a few speakers shows. Classification tasks only.
    ensemble: int = 1
    mixed_precision: bool = False
    seed: int = 1234
    # The training state (weights, optimizer, epoch) that an interrupted run resumes from is
    # saved after every epoch, and also every this many steps where set (a resumed run then
    # repeats its interrupted epoch from the start, on the weights saved at that step).
    save_every_steps: int | None = None
    # 0: nothing per epoch; 1: Keras' progress bar on a terminal or in a notebook, one log line
    # per epoch (metrics and seconds) when the output goes to a file or a pipe; 2: always one log
    # line per epoch. How training ended and which epoch was kept is logged in every case.
    verbose: int = 1


@dataclass
class ExportConfig:
    enabled: bool = True
    top_k: int = 3
    # Compile the model with XLA inside the SavedModel where a task feeds it fixed shapes
    # (audio classification: clips are padded or cropped first); about 3x lower latency on CPU.
    jit_compile: bool = True
    # Audio classifiers: keyword detection in long recordings (`toolkit detect`, the
    # SavedModel's `detect` and `stream` signatures): one clip-long window every hop, the
    # probabilities averaged over the last `detect_smoothing_ms`, a detection wherever one
    # keyword's average reaches the threshold.
    detect_hop_ms: float = 100.0
    detect_smoothing_ms: float = 300.0
    detect_threshold: float = 0.5


@dataclass
class FinetuneConfig:
    """Training that starts from a trained model (`toolkit finetune`); a recipe without this
    block trains from scratch."""

    # The run directory or .keras file whose features, backbone and head the model starts from.
    source: str | None = field(default=None, metadata=PATH)
    # What stays frozen. head_first: a new head trains alone on the frozen backbone for
    # `head_epochs`, then everything trains; backbone: the backbone never trains; none: nothing
    # is frozen, not even at first; N: as head_first, then the backbone's first N layers stay
    # frozen. A head that continues (same outputs as the source) has no head-only phase.
    freeze: Literal["head_first", "backbone", "none"] | int = "head_first"
    # Epochs of the head-only phase, at train.learning_rate (0: none); at most half of a run
    # of train.epochs, so that the backbone trains too.
    head_epochs: int = 3
    # The rest trains at train.learning_rate times this: small steps keep what the source learnt.
    learning_rate_factor: float = 0.1
    # Append the training split's words (or characters) that the source's vocabulary lacks,
    # counted as the tokenizer's own adapt counts them, and grow the embeddings to match: new
    # words of the user's domain then get rows of their own instead of all reading as unknown.
    # Word and character vocabularies only; a subword tokenizer already covers any text.
    extend_vocabulary: bool = False
    # Written by the run: the source's outputs (labels, tags, characters) whose rows of the
    # source's output layer were kept.
    labels_kept: list[str] | None = None


@dataclass
class TuneConfig:
    """The hyper-parameter search `toolkit tune` runs on a recipe; `toolkit run` ignores it."""

    # Recipe key -> what to try: a list of choices ([32, 64, 128], [gru, lstm]) or a range
    # {min: 0.0003, max: 0.01, log: true} (whole numbers when min and max are; `step` spaces
    # them). Keys of the model, train, features and augment blocks.
    space: dict = field(default_factory=dict)
    # Trials at most (each trains the recipe with one draw of the space).
    trials: int = 10
    # bayesian: a Gaussian process proposes each trial from the scores so far (after a few
    # random ones); random: independent draws.
    algorithm: Literal["bayesian", "random"] = "bayesian"


FIXED_BLOCKS = {"data": DataConfig, "train": TrainConfig, "export": ExportConfig}
# Blocks a recipe may leave out; their settings are then not saved either.
OPTIONAL_BLOCKS = {"finetune": FinetuneConfig, "tune": TuneConfig}
