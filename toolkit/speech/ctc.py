"""CTC pieces that live in the graph: padded frames made blank, greedy and beam decoding,
and unit ids back to text.

Label id 0 is the CTC blank; the units (characters or subword pieces) are ids 1..V.
Padded frames are forced to emit blank with probability one, so the CTC loss and the
decoders can read every frame of a padded batch: an utterance's alignments over its own
frames extend in exactly one way over the padding (blanks), which leaves the loss and the
best paths unchanged.
"""

from __future__ import annotations

import keras
import tensorflow as tf

BLANK = 0
# Logit given to non-blank units on padded frames: far enough below the blank's 0 that the
# blank has probability 1 in float32, finite so gradients stay finite.
_PADDED_LOGIT = -1e4
SUBWORD_SPACE = "\u2581"  # SentencePiece's word-boundary mark


@keras.saving.register_keras_serializable(package="toolkit")
class BlankPadding(keras.layers.Layer):
    """`[batch, frames, units + 1]` logits with frames at or past each length set to blank."""

    def call(self, logits: tf.Tensor, lengths: tf.Tensor) -> tf.Tensor:
        logits = tf.cast(logits, tf.float32)
        valid = tf.sequence_mask(lengths, tf.shape(logits)[1])[..., None]
        blank_only = tf.one_hot(
            BLANK, tf.shape(logits)[-1], on_value=0.0, off_value=_PADDED_LOGIT, dtype=tf.float32
        )
        return tf.where(valid, logits, blank_only)

    def compute_output_shape(self, logits_shape, lengths_shape):
        return logits_shape


def ctc_loss(label_ids: tf.Tensor, logits: tf.Tensor) -> tf.Tensor:
    """Per-utterance CTC loss; labels padded with the blank id, logits over all frames."""
    label_ids = tf.cast(label_ids, tf.int32)
    label_lengths = tf.reduce_sum(tf.cast(tf.not_equal(label_ids, BLANK), tf.int32), axis=1)
    frames = tf.fill([tf.shape(logits)[0]], tf.shape(logits)[1])
    return tf.nn.ctc_loss(
        labels=label_ids,
        logits=tf.cast(logits, tf.float32),
        label_length=label_lengths,
        logit_length=frames,
        blank_index=BLANK,
        logits_time_major=False,
    )


def greedy_decode(logits: tf.Tensor) -> tf.RaggedTensor:
    """Best label per frame, repeats merged, blanks removed: ragged `[batch, (labels)]` ids."""
    best = tf.argmax(logits, axis=-1, output_type=tf.int32)
    previous = tf.pad(best[:, :-1], [[0, 0], [1, 0]], constant_values=-1)
    keep = tf.logical_and(tf.not_equal(best, previous), tf.not_equal(best, BLANK))
    return tf.ragged.boolean_mask(best, keep)


def beam_decode(logits: tf.Tensor, beam_width: int) -> tf.RaggedTensor:
    """CTC beam search (TensorFlow's decoder, no language model): ragged ids."""
    # TensorFlow's decoder wants time-major inputs with the blank as the last class.
    rolled = tf.concat([logits[..., 1:], logits[..., :1]], axis=-1)
    log_probabilities = tf.nn.log_softmax(tf.transpose(rolled, [1, 0, 2]))
    frames = tf.fill([tf.shape(logits)[0]], tf.shape(logits)[1])
    decoded, _ = tf.nn.ctc_beam_search_decoder(
        log_probabilities, frames, beam_width=beam_width, top_paths=1
    )
    # The dense shape is [batch, longest]; trailing -1 marks the end of shorter rows.
    dense = tf.sparse.to_dense(decoded[0], default_value=-1)
    # Back to the model's ids (units are 1..V).
    return tf.RaggedTensor.from_tensor(dense, padding=-1) + 1


def ids_to_text(ids: tf.RaggedTensor, units: tf.Tensor, subwords: bool) -> tf.Tensor:
    """Join unit strings (id i is `units[i - 1]`); subword pieces turn their mark into spaces."""
    pieces = tf.gather(units, ids - 1)
    text = tf.strings.reduce_join(pieces, axis=-1)
    if subwords:
        text = tf.strings.strip(tf.strings.regex_replace(text, SUBWORD_SPACE, " "))
    return text


def decode_to_text(
    logits: tf.Tensor, units: tf.Tensor, subwords: bool, beam_width: int = 0
) -> tf.Tensor:
    """Transcripts `[batch]` from logits: greedy when `beam_width` < 2, else beam search."""
    ids = greedy_decode(logits) if beam_width < 2 else beam_decode(logits, beam_width)
    return ids_to_text(ids, units, subwords)
