"""Linear-chain conditional random field: log-likelihood, Viterbi decoding, a Keras layer and loss.

Shapes: potentials (emission scores) `[batch, time, num_tags]`, tags `[batch, time]`, lengths
`[batch]`. `transitions[i, j]` scores moving from tag `i` to tag `j`; `start_transitions` and
`end_transitions` score the first and last tag of each sequence. Sequences are left-aligned:
positions `>= length` are padding and never influence a result, whatever they hold.

The loops over time are `tf.while_loop`s, so both functions run eagerly, inside `tf.function`
and in an exported SavedModel with a time dimension unknown until run time. Half-precision
potentials are computed in float32, where logsumexp keeps the forward algorithm stable.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

_HALF_DTYPES = (tf.float16, tf.bfloat16)


def _prepare(
    potentials: Any,
    lengths: Any,
    transitions: Any,
    start_transitions: Any,
    end_transitions: Any,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    """Casts inputs to one float dtype and zeroes padded potentials so they cannot leak in
    (not even as NaN through a multiplication by zero, or as NaN gradients)."""
    potentials = tf.convert_to_tensor(potentials)
    if potentials.dtype in _HALF_DTYPES or not potentials.dtype.is_floating:
        potentials = tf.cast(potentials, tf.float32)
    dtype = potentials.dtype
    time = tf.shape(potentials)[1]
    # A length outside [1, time] would index outside the sequence when reading the last tag.
    lengths = tf.clip_by_value(tf.cast(lengths, tf.int32), 1, time)
    mask = tf.sequence_mask(lengths, time)
    potentials = tf.where(mask[:, :, tf.newaxis], potentials, tf.zeros_like(potentials))
    transitions = tf.cast(transitions, dtype)
    start_transitions = tf.cast(start_transitions, dtype)
    end_transitions = tf.cast(end_transitions, dtype)
    return potentials, lengths, mask, transitions, start_transitions, end_transitions


def crf_sequence_score(
    potentials: Any,
    tags: Any,
    lengths: Any,
    transitions: Any,
    start_transitions: Any,
    end_transitions: Any,
) -> tf.Tensor:
    """Unnormalised score of `tags` per sequence, `[batch]`."""
    potentials, lengths, mask, transitions, start, end = _prepare(
        potentials, lengths, transitions, start_transitions, end_transitions
    )
    # Padded tags may be anything (e.g. -1); replace them so every gather stays in range.
    tags = tf.where(mask, tf.cast(tags, tf.int32), 0)
    emission = tf.gather(potentials, tags, batch_dims=2)
    emission_score = tf.reduce_sum(tf.where(mask, emission, tf.zeros_like(emission)), axis=1)
    pairs = tf.stack([tags[:, :-1], tags[:, 1:]], axis=-1)
    transition = tf.gather_nd(transitions, pairs)
    transition_score = tf.reduce_sum(
        tf.where(mask[:, 1:], transition, tf.zeros_like(transition)), axis=1
    )
    last_tags = tf.gather(tags, lengths - 1, batch_dims=1)
    boundary_score = tf.gather(start, tags[:, 0]) + tf.gather(end, last_tags)
    return emission_score + transition_score + boundary_score


def crf_log_partition(
    potentials: Any,
    lengths: Any,
    transitions: Any,
    start_transitions: Any,
    end_transitions: Any,
) -> tf.Tensor:
    """Log of the sum of `exp(score)` over every tag sequence (forward algorithm), `[batch]`."""
    potentials, _, mask, transitions, start, end = _prepare(
        potentials, lengths, transitions, start_transitions, end_transitions
    )
    time = tf.shape(potentials)[1]
    alpha = start[tf.newaxis, :] + potentials[:, 0]

    def step(t: tf.Tensor, alpha: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        # alpha[b, i] + transitions[i, j], summed out over the previous tag i.
        scores = alpha[:, :, tf.newaxis] + transitions[tf.newaxis]
        new_alpha = tf.reduce_logsumexp(scores, axis=1) + potentials[:, t]
        return t + 1, tf.where(mask[:, t, tf.newaxis], new_alpha, alpha)

    _, alpha = tf.while_loop(lambda t, _: t < time, step, (tf.constant(1), alpha))
    return tf.reduce_logsumexp(alpha + end[tf.newaxis, :], axis=1)


def crf_log_likelihood(
    potentials: Any,
    tags: Any,
    lengths: Any,
    transitions: Any,
    start_transitions: Any,
    end_transitions: Any,
) -> tf.Tensor:
    """`log p(tags | potentials)` per sequence, `[batch]`.

    Float32 unless the potentials are float64. Lengths are clipped into `[1, time]`.
    """
    score = crf_sequence_score(
        potentials, tags, lengths, transitions, start_transitions, end_transitions
    )
    log_partition = crf_log_partition(
        potentials, lengths, transitions, start_transitions, end_transitions
    )
    return score - log_partition


def crf_viterbi_decode(
    potentials: Any,
    lengths: Any,
    transitions: Any,
    start_transitions: Any,
    end_transitions: Any,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Highest-scoring tag sequence: `(tags int32 [batch, time], best_scores [batch])`.

    Positions `>= length` get tag 0. `best_scores` is the unnormalised score of the returned
    tags (as `crf_sequence_score` computes it).
    """
    potentials, _, mask, transitions, start, end = _prepare(
        potentials, lengths, transitions, start_transitions, end_transitions
    )
    time = tf.shape(potentials)[1]
    num_tags = tf.shape(potentials)[2]
    # At padded steps each tag points back to itself, so backtracking carries the last real
    # tag through the padding unchanged.
    identity = tf.broadcast_to(tf.range(num_tags)[tf.newaxis], tf.shape(potentials[:, 0]))
    delta = start[tf.newaxis, :] + potentials[:, 0]
    backpointers = tf.TensorArray(tf.int32, size=time - 1, element_shape=identity.shape)

    def forward(
        t: tf.Tensor, delta: tf.Tensor, backpointers: tf.TensorArray
    ) -> tuple[tf.Tensor, tf.Tensor, tf.TensorArray]:
        scores = delta[:, :, tf.newaxis] + transitions[tf.newaxis]
        best_previous = tf.argmax(scores, axis=1, output_type=tf.int32)
        new_delta = tf.reduce_max(scores, axis=1) + potentials[:, t]
        valid = mask[:, t, tf.newaxis]
        backpointers = backpointers.write(t - 1, tf.where(valid, best_previous, identity))
        return t + 1, tf.where(valid, new_delta, delta), backpointers

    _, delta, backpointers = tf.while_loop(
        lambda t, *_: t < time, forward, (tf.constant(1), delta, backpointers)
    )
    final_scores = delta + end[tf.newaxis, :]
    best_scores = tf.reduce_max(final_scores, axis=1)
    last_tags = tf.argmax(final_scores, axis=1, output_type=tf.int32)

    path = tf.TensorArray(tf.int32, size=time, element_shape=last_tags.shape)
    path = path.write(time - 1, last_tags)

    def backward(
        t: tf.Tensor, tags: tf.Tensor, path: tf.TensorArray
    ) -> tuple[tf.Tensor, tf.Tensor, tf.TensorArray]:
        # t counts down from time - 1; the tag at t - 1 is the backpointer of the tag at t.
        previous = tf.gather(backpointers.read(t - 1), tags, batch_dims=1)
        return t - 1, previous, path.write(t - 1, previous)

    _, _, path = tf.while_loop(lambda t, *_: t > 0, backward, (time - 1, last_tags, path))
    tags = tf.transpose(path.stack())
    return tf.where(mask, tags, tf.zeros_like(tags)), best_scores


@keras.saving.register_keras_serializable(package="toolkit")
class CRF(keras.layers.Layer):
    """CRF output layer: holds the transition scores and passes the emission scores through.

    `call` returns the potentials (as float32) so a model ends in emission scores; train with
    `CRFLoss(crf_layer)` and decode with `crf_layer.decode`. The layer stops any Keras mask:
    sequence lengths come from the labels (in the loss) or are given explicitly.

    Args:
        num_tags: Number of tags (at least one); the last input axis must have this size.
    """

    def __init__(self, num_tags: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(num_tags, bool) or not isinstance(num_tags, int) or num_tags < 1:
            raise ValueError(f"num_tags must be an integer >= 1, got {num_tags!r}")
        self.num_tags = num_tags
        self.supports_masking = True

    def build(self, input_shape: Any = None) -> None:
        if input_shape is not None and input_shape[-1] not in (None, self.num_tags):
            raise ValueError(
                f"CRF with num_tags={self.num_tags} got potentials whose last axis is "
                f"{input_shape[-1]}"
            )
        # Small uniform values rather than zeros break the tie between equal Viterbi paths.
        initializer = keras.initializers.RandomUniform(-0.1, 0.1)
        self.transitions = self.add_weight(
            shape=(self.num_tags, self.num_tags), initializer=initializer, name="transitions"
        )
        self.start_transitions = self.add_weight(
            shape=(self.num_tags,), initializer=initializer, name="start_transitions"
        )
        self.end_transitions = self.add_weight(
            shape=(self.num_tags,), initializer=initializer, name="end_transitions"
        )
        self.built = True

    def call(self, potentials: Any, mask: Any = None) -> Any:
        return keras.ops.cast(potentials, "float32")

    def compute_mask(self, inputs: Any, mask: Any = None) -> None:
        # A [batch, time] mask on the output would be applied to the per-sequence loss.
        return None

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def _weights(self) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        if not self.built:
            self.build()
        return (
            tf.convert_to_tensor(self.transitions),
            tf.convert_to_tensor(self.start_transitions),
            tf.convert_to_tensor(self.end_transitions),
        )

    def log_likelihood(self, potentials: Any, tags: Any, lengths: Any) -> tf.Tensor:
        """`log p(tags | potentials)` per sequence, `[batch]`."""
        return crf_log_likelihood(potentials, tags, lengths, *self._weights())

    def decode(self, potentials: Any, lengths: Any) -> tuple[tf.Tensor, tf.Tensor]:
        """Viterbi tags `[batch, time]` (0 past each length) and their scores `[batch]`."""
        return crf_viterbi_decode(potentials, lengths, *self._weights())

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_tags": self.num_tags}


@keras.saving.register_keras_serializable(package="toolkit")
class CRFLoss(keras.losses.Loss):
    """Mean negative log-likelihood of the labelled tag sequences under `crf_layer`.

    `y_true` holds tag ids `[batch, time]`, left-aligned and padded with any negative value
    (-1); `y_pred` holds the potentials. A row with no tag at all contributes zero.

    The layer is not part of the saved config: a model compiled with this loss reloads from a
    `.keras` file for inference, but must be compiled again with `CRFLoss(restored_crf_layer)`
    before training or evaluation.
    """

    def __init__(self, crf_layer: CRF | None, name: str = "crf_loss", **kwargs: Any) -> None:
        super().__init__(name=name, reduction="sum_over_batch_size", **kwargs)
        self.crf_layer = crf_layer

    def call(self, y_true: Any, y_pred: Any) -> tf.Tensor:
        if self.crf_layer is None:
            raise RuntimeError(
                "CRFLoss was restored from a saved config without its CRF layer; compile the "
                "model again with loss=CRFLoss(<the model's CRF layer>)"
            )
        # Loss.__call__ converts y_true to the loss dtype; tag ids are exact in float32.
        tags = tf.cast(y_true, tf.int32)
        lengths = tf.reduce_sum(tf.cast(tags >= 0, tf.int32), axis=1)
        log_likelihood = self.crf_layer.log_likelihood(y_pred, tags, lengths)
        return tf.where(lengths > 0, -log_likelihood, tf.zeros_like(log_likelihood))

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> CRFLoss:
        config.pop("reduction", None)
        return cls(None, **config)
