"""CTC prefix beam search with a word n-gram language model in TensorFlow ops.

The same search and the same scores as `toolkit.speech.lm_decoder` (the reference, in
Python): CTC prefix probabilities ending in blank / non-blank, `lm_weight` × the natural-log
LM probability of each completed word plus `word_bonus`, `unknown_word_penalty` for words the
LM has never seen and for unfinished words that start none, and the sentence end scored when
the utterance ends. Written as one `tf.while_loop` over frames, every utterance of a batch and
every beam entry at once, with the n-gram tables as TensorFlow hash tables, so it runs inside
an exported SavedModel (no Python at serving time) and decodes whole batches fast in Python.

How the Python dictionaries become tensors:
- a prefix is identified by a hash of its labels (two 31-bit polynomial hashes, so a
  collision needs both to collide); a prefix extended by a unit merges with the beam entry
  whose parent hash and last label say it is that extension, as the Python decoder merges
  entries with the same labels;
- the unfinished word of a prefix is kept as the same kind of hash, looked up in a table of
  the LM's words (and of their beginnings, for the unknown-word penalty);
- n-gram keys are the word ids written in base (words + 3), distinct for every n-gram of
  every order, so they must fit in 63 bits (a model too large is refused);
- each frame keeps the parent entry and the unit it added, and the best entry's labels are
  read back from those at the end.
"""

from __future__ import annotations

import math

import tensorflow as tf

from toolkit.errors import ToolkitError
from toolkit.speech.lm import BEGIN, END, NGramModel

_LN10 = math.log(10.0)
# As in the Python decoder: units below this log probability on a frame are not tried there.
_PRUNE_LOG_PROBABILITY = math.log(1e-4)
# Two polynomial string hashes modulo primes below 2**31: a product of two values stays
# below 2**62, so int64 arithmetic never overflows.
_RADIX = (131, 137)
_PRIME = (2147483647, 2147483629)
# Absent from a probability table (log10 probabilities are never positive).
_MISSING = 1.0


def text_hash(text: str, which: int) -> int:
    """Hash `which` (0 or 1) of a string, as the graph extends it unit by unit."""
    value = 0
    for character in text:
        value = (value * _RADIX[which] + ord(character) + 1) % _PRIME[which]
    return value


def _text_key(text: str) -> int:
    return text_hash(text, 0) * 2**31 + text_hash(text, 1)


def _table(
    keys: list[int], values: list, value_dtype: tf.DType, default
) -> tf.lookup.StaticHashTable:
    # A key no hash or n-gram produces keeps an empty table valid.
    keys, values = [-1, *keys], [default, *values]
    return tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(keys, tf.int64), tf.constant(values, value_dtype)
        ),
        default_value=tf.constant(default, value_dtype),
    )


def _log_add(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    top = tf.maximum(a, b)
    finite = tf.math.is_finite(top)
    safe_top = tf.where(finite, top, tf.zeros_like(top))
    summed = safe_top + tf.math.log(tf.exp(a - safe_top) + tf.exp(b - safe_top))
    return tf.where(finite, summed, top)


class LanguageModelGraph(tf.Module):
    """The n-gram, word and unit tables of one language model and output alphabet, and the
    beam search that uses them (`decode`)."""

    def __init__(
        self,
        model: NGramModel,
        unit_texts: list[str],
        *,
        beam_width: int,
        lm_weight: float,
        word_bonus: float,
        unknown_word_penalty: float,
    ):
        super().__init__(name="language_model_decoder")
        if beam_width < 1:
            raise ValueError(f"beam_width must be at least 1, got {beam_width}")
        for unit in unit_texts:
            if " " in unit[1:]:
                raise ToolkitError(
                    f"output unit {unit!r} has a space after its first character: the "
                    "language-model decoder reads a space only as the start of a unit"
                )
        self.order = model.order
        self.beam_width = int(beam_width)
        self.lm_weight = float(lm_weight)
        self.word_bonus = float(word_bonus)
        self.unknown_word_penalty = float(unknown_word_penalty)
        self.unit_count = len(unit_texts)
        self.unit_texts = tf.constant(unit_texts)

        words = sorted({word for gram in [*model.probabilities, *model.backoffs] for word in gram})
        ids = {word: index for index, word in enumerate(words)}
        self.unseen_id = len(words)  # a word the LM has no entry for
        self.padding_id = len(words) + 1  # no word (a history shorter than order - 1)
        self.base = len(words) + 3
        if self.base**self.order >= 2**63:
            raise ToolkitError(
                f"the language model is too large to decode in the graph: {len(words)} words "
                f"of order {self.order} do not fit 64-bit n-gram keys"
            )
        self.word_count = len(model.vocabulary())
        self.begin_id = ids.get(BEGIN, self.unseen_id)
        self.end_id = ids.get(END, self.unseen_id)
        self.unknown_log10 = float(model.unknown)

        def gram_key(gram: tuple[str, ...]) -> int:
            key = 0
            for word in gram:
                key = key * self.base + ids[word] + 1
            return key

        self.probabilities = _table(
            [gram_key(gram) for gram in model.probabilities],
            list(model.probabilities.values()),
            tf.float64,
            _MISSING,
        )
        self.backoffs = _table(
            [gram_key(gram) for gram in model.backoffs],
            list(model.backoffs.values()),
            tf.float64,
            0.0,
        )
        self.word_ids = _table(
            [_text_key(word) for word in words], list(range(len(words))), tf.int64, self.unseen_id
        )
        vocabulary = model.vocabulary()
        self.in_vocabulary = tf.constant([word in vocabulary for word in words] + [False, False])
        starts = {word[:end] for word in vocabulary for end in range(1, len(word) + 1)}
        self.word_starts = _table(
            [_text_key(start) for start in sorted(starts)], [1] * len(starts), tf.int64, 0
        )

        # How each unit changes the unfinished word: a unit starting with a space completes
        # it and begins a new one with the rest of the unit.
        tails = [unit[1:] if unit.startswith(" ") else unit for unit in unit_texts]
        self.starts_word = tf.constant([unit.startswith(" ") for unit in unit_texts])
        self.tail_lengths = tf.constant([len(tail) for tail in tails], tf.int32)
        self.tail_hashes = [
            tf.constant([text_hash(tail, which) for tail in tails], tf.int64) for which in (0, 1)
        ]
        self.tail_multipliers = [
            tf.constant([pow(_RADIX[which], len(tail), _PRIME[which]) for tail in tails], tf.int64)
            for which in (0, 1)
        ]

    # Language-model scores ------------------------------------------------------------

    def _keys(self, ids: tf.Tensor) -> tf.Tensor:
        """N-gram keys of the last axis of `ids` (as `gram_key` writes them)."""
        key = tf.zeros(tf.shape(ids)[:-1], tf.int64)
        for position in range(ids.shape[-1]):
            key = key * self.base + ids[..., position] + 1
        return key

    def log10_probability(self, history: tf.Tensor, word: tf.Tensor) -> tf.Tensor:
        """log10 p(word | history) with back-off, as `NGramModel.log10_probability`; history
        `[..., max(order - 1, 1)]` word ids, padded on the left."""
        unigram = self.probabilities.lookup(self._keys(word[..., None]))
        value = tf.where(unigram == _MISSING, tf.constant(self.unknown_log10, tf.float64), unigram)
        for length in range(1, self.order):
            context = history[..., -length:]
            found = self.probabilities.lookup(self._keys(tf.concat([context, word[..., None]], -1)))
            backoff = self.backoffs.lookup(self._keys(context))
            value = tf.where(found == _MISSING, value + backoff, found)
        return value

    def _word_score(self, history: tf.Tensor, word: tf.Tensor) -> tf.Tensor:
        """What completing `word` adds to a prefix's score (LanguageModelScorer.word)."""
        log10 = self.log10_probability(history, word)
        unseen = tf.logical_not(tf.gather(self.in_vocabulary, word))
        log10 -= tf.where(unseen, tf.constant(self.unknown_word_penalty, tf.float64), 0.0)
        return self.lm_weight * _LN10 * log10 + self.word_bonus

    def _partial_penalty(self, hashes: tuple[tf.Tensor, tf.Tensor], length: tf.Tensor) -> tf.Tensor:
        """The ranking loss of an unfinished word that begins no known word."""
        if not self.unknown_word_penalty:
            return tf.zeros(tf.shape(length), tf.float64)
        known = self.word_starts.lookup(hashes[0] * 2**31 + hashes[1]) > 0
        unknown = tf.logical_and(length > 0, tf.logical_not(known))
        penalty = -self.lm_weight * self.unknown_word_penalty * _LN10
        return tf.where(unknown, tf.constant(penalty, tf.float64), 0.0)

    def _extend_word(
        self, state: dict[str, tf.Tensor], unit_ids: tf.Tensor
    ) -> tuple[tuple[tf.Tensor, tf.Tensor], tf.Tensor]:
        """The unfinished word's hashes and length after each entry of `state` (`[batch,
        width]`) adds the units `unit_ids` (1..units, broadcast against it)."""
        index = unit_ids - 1
        starts = tf.gather(self.starts_word, index)
        hashes = tuple(
            tf.where(
                starts,
                tf.gather(self.tail_hashes[which], index),
                (
                    state[f"word{which}"][..., None]
                    * tf.gather(self.tail_multipliers[which], index)
                    + tf.gather(self.tail_hashes[which], index)
                )
                % _PRIME[which]
                if index.shape.rank > state[f"word{which}"].shape.rank
                else (
                    state[f"word{which}"] * tf.gather(self.tail_multipliers[which], index)
                    + tf.gather(self.tail_hashes[which], index)
                )
                % _PRIME[which],
            )
            for which in (0, 1)
        )
        lengths = tf.gather(self.tail_lengths, index)
        previous = state["word_length"]
        if index.shape.rank > previous.shape.rank:
            previous = previous[..., None]
        return hashes, tf.where(starts, lengths, previous + lengths)

    # The search -----------------------------------------------------------------------

    def decode(self, log_probabilities: tf.Tensor) -> tf.RaggedTensor:
        """The best entry's unit ids, ragged `[batch, (labels)]` (ids 1..units), for
        `[batch, frames, 1 + units]` log probabilities (blank first)."""
        units = self.unit_count
        width = self.beam_width
        history_length = max(self.order - 1, 1)
        scores = tf.cast(log_probabilities, tf.float64)
        # One frame of certain blank at the end changes no score or ranking and means the
        # loop below always runs (an empty input has no frames).
        blank_frame = tf.one_hot(0, units + 1, on_value=0.0, off_value=-math.inf, dtype=tf.float64)
        scores = tf.concat(
            [scores, tf.broadcast_to(blank_frame, [tf.shape(scores)[0], 1, units + 1])], 1
        )
        batch, frames = tf.shape(scores)[0], tf.shape(scores)[1]
        minus_infinity = tf.constant(-math.inf, tf.float64)

        def fill(value, dtype):
            return tf.fill(tf.stack([batch, width]), tf.constant(value, dtype))

        start_history = [self.padding_id] * (history_length - 1) + [self.begin_id]
        state = {
            "blank": tf.concat(
                [tf.zeros([batch, 1], tf.float64), fill(-math.inf, tf.float64)[:, 1:]], 1
            ),
            "non_blank": fill(-math.inf, tf.float64),
            "lm": fill(0.0, tf.float64),
            "history": tf.tile(tf.constant(start_history, tf.int64)[None, None], [batch, width, 1]),
            "hash0": fill(0, tf.int64),
            "hash1": fill(0, tf.int64),
            "parent0": fill(-1, tf.int64),
            "parent1": fill(-1, tf.int64),
            "last": fill(0, tf.int32),
            "word0": fill(0, tf.int64),
            "word1": fill(0, tf.int64),
            "word_length": fill(0, tf.int32),
        }
        invariants = {
            name: tf.TensorShape(
                [None, width, history_length] if name == "history" else [None, width]
            )
            for name in state
        }
        parents = tf.TensorArray(tf.int32, size=frames)
        added = tf.TensorArray(tf.int32, size=frames)

        def blank_step(frame_index, state, parents, added):
            """A frame where only the blank is tried, in every utterance: each entry stays
            itself, ending in blank, and the beam's order does not change."""
            total = _log_add(state["blank"], state["non_blank"])
            state = dict(
                state,
                blank=total + scores[:, frame_index, :1],
                non_blank=tf.zeros_like(total) + minus_infinity,
            )
            same = tf.zeros_like(state["last"]) + tf.range(width)
            parents = parents.write(frame_index, same)
            added = added.write(frame_index, tf.zeros_like(same))
            return frame_index + 1, state, parents, added

        def step(frame_index, state, parents, added):
            frame_index, state, parents, added = tf.cond(
                tf.reduce_all(scores[:, frame_index, 1:] <= _PRUNE_LOG_PROBABILITY),
                lambda: blank_step(frame_index, state, parents, added),
                lambda: search_step(frame_index, state, parents, added),
            )
            for name, value in state.items():
                value.set_shape(invariants[name])
            return frame_index, state, parents, added

        def search_step(frame_index, state, parents, added):
            frame = scores[:, frame_index]
            frame = tf.where(frame > _PRUNE_LOG_PROBABILITY, frame, minus_infinity)
            blank, non_blank, last = state["blank"], state["non_blank"], state["last"]
            total = _log_add(blank, non_blank)
            valid = tf.math.is_finite(total)

            # The entry itself: a blank, or its last unit repeated without a blank between.
            same_blank = total + frame[:, :1]
            repeated = tf.gather(frame, last, batch_dims=1)
            same_non_blank = tf.where(last > 0, non_blank + repeated, minus_infinity)

            # Extended by a unit: only the units above the pruning threshold on this frame
            # (as many as the batch's busiest utterance has), a repeat only after a blank.
            tried = tf.maximum(
                tf.reduce_max(tf.reduce_sum(tf.cast(tf.math.is_finite(frame[:, 1:]), tf.int32), 1)),
                1,
            )
            unit_scores, unit_ids = tf.math.top_k(frame[:, 1:], k=tried)
            unit_ids += 1  # [batch, tried], labels 1..units
            is_last = tf.equal(last[..., None], unit_ids[:, None, :])
            extended = (
                tf.where(is_last, blank[..., None], total[..., None]) + unit_scores[:, None, :]
            )

            # Extensions that equal an entry already in the beam add to it instead.
            merges = tf.logical_and(
                tf.logical_and(
                    tf.equal(state["hash0"][:, :, None], state["parent0"][:, None, :]),
                    tf.equal(state["hash1"][:, :, None], state["parent1"][:, None, :]),
                ),
                tf.logical_and(valid[:, :, None], tf.logical_and(valid, last > 0)[:, None, :]),
            )
            last_tried = tf.equal(last[..., None], unit_ids[:, None, :])  # [batch, entry, tried]
            merges = tf.logical_and(merges, tf.reduce_any(last_tried, -1)[:, None, :])
            last_position = tf.argmax(tf.cast(last_tried, tf.int32), -1, output_type=tf.int32)
            into = tf.gather(extended, last_position, axis=2, batch_dims=1)
            absorbed = tf.reduce_logsumexp(tf.where(merges, into, minus_infinity), axis=1)
            same_non_blank = _log_add(same_non_blank, absorbed)
            merged_away = tf.einsum(
                "nsd,ndv->nsv", tf.cast(merges, tf.float32), tf.cast(last_tried, tf.float32)
            )
            extended = tf.where(merged_away > 0, minus_infinity, extended)

            # Language model: a unit starting a word completes the unfinished one.
            word = self.word_ids.lookup(state["word0"] * 2**31 + state["word1"])
            word_score = self._word_score(state["history"], word)
            starts_word = tf.gather(self.starts_word, unit_ids - 1)[:, None, :]
            completes = tf.logical_and(starts_word, (state["word_length"] > 0)[..., None])
            extended_word, extended_length = self._extend_word(state, unit_ids[:, None, :])
            same_rank = (
                _log_add(same_blank, same_non_blank)
                + state["lm"]
                + self._partial_penalty((state["word0"], state["word1"]), state["word_length"])
            )
            extended_rank = (
                extended
                + state["lm"][..., None]
                + tf.where(completes, word_score[..., None], 0.0)
                + self._partial_penalty(extended_word, extended_length)
            )
            ranks = tf.concat([same_rank, tf.reshape(extended_rank, [batch, width * tried])], 1)
            _, chosen = tf.math.top_k(ranks, k=width)

            # The chosen entries: their parent entry and the unit it added (0: none).
            from_entry = chosen < width
            parent = tf.where(from_entry, chosen, (chosen - width) // tried)
            position = tf.where(from_entry, 0, (chosen - width) % tried)
            unit = tf.where(from_entry, 0, tf.gather(unit_ids, position, batch_dims=1))
            old = {name: tf.gather(value, parent, batch_dims=1) for name, value in state.items()}
            grown = tf.gather_nd(extended, tf.stack([parent, position], -1), batch_dims=1)
            parent_word = tf.gather(word, parent, batch_dims=1)
            ends_word = tf.logical_and(
                tf.logical_and(
                    tf.logical_not(from_entry), tf.gather(self.starts_word, tf.maximum(unit - 1, 0))
                ),
                old["word_length"] > 0,
            )
            new_word, new_length = self._extend_word(old, tf.maximum(unit, 1))
            keep = from_entry
            state = {
                "blank": tf.where(
                    keep, tf.gather(same_blank, parent, batch_dims=1), minus_infinity
                ),
                "non_blank": tf.where(keep, tf.gather(same_non_blank, parent, batch_dims=1), grown),
                "lm": old["lm"]
                + tf.where(ends_word, tf.gather(word_score, parent, batch_dims=1), 0.0),
                "history": tf.where(
                    ends_word[..., None],
                    tf.concat([old["history"][..., 1:], parent_word[..., None]], -1),
                    old["history"],
                ),
                "hash0": tf.where(
                    keep,
                    old["hash0"],
                    (old["hash0"] * _RADIX[0] + tf.cast(unit, tf.int64)) % _PRIME[0],
                ),
                "hash1": tf.where(
                    keep,
                    old["hash1"],
                    (old["hash1"] * _RADIX[1] + tf.cast(unit, tf.int64)) % _PRIME[1],
                ),
                "parent0": tf.where(keep, old["parent0"], old["hash0"]),
                "parent1": tf.where(keep, old["parent1"], old["hash1"]),
                "last": tf.where(keep, old["last"], unit),
                "word0": tf.where(keep, old["word0"], new_word[0]),
                "word1": tf.where(keep, old["word1"], new_word[1]),
                "word_length": tf.where(keep, old["word_length"], new_length),
            }
            parents = parents.write(frame_index, parent)
            added = added.write(frame_index, unit)
            return frame_index + 1, state, parents, added

        _, state, parents, added = tf.while_loop(
            lambda frame_index, *_: frame_index < frames,
            step,
            (tf.constant(0), state, parents, added),
            shape_invariants=(
                tf.TensorShape([]),
                invariants,
                tf.TensorShape(None),
                tf.TensorShape(None),
            ),
        )

        # The sentence end (and the last word, if unfinished) decide the best entry.
        word = self.word_ids.lookup(state["word0"] * 2**31 + state["word1"])
        open_word = state["word_length"] > 0
        final = _log_add(state["blank"], state["non_blank"]) + state["lm"]
        final += tf.where(open_word, self._word_score(state["history"], word), 0.0)
        history = tf.where(
            open_word[..., None],
            tf.concat([state["history"][..., 1:], word[..., None]], -1),
            state["history"],
        )
        end = tf.fill(tf.shape(word), tf.constant(self.end_id, tf.int64))
        final += self.lm_weight * _LN10 * self.log10_probability(history, end)
        best = tf.argmax(final, axis=1, output_type=tf.int32)

        # Read the best entry's units back from the last frame to the first.
        def back(entry, frame_parents_and_units):
            frame_parents, frame_units = frame_parents_and_units
            unit = tf.gather(frame_units, entry, batch_dims=1)
            return tf.gather(frame_parents, entry, batch_dims=1), unit

        _, units_backwards = tf.scan(
            lambda carried, pair: back(carried[0], pair),
            (parents.stack(), added.stack()),
            initializer=(best, tf.zeros_like(best)),
            reverse=True,
        )
        unit_ids = tf.transpose(units_backwards)  # [batch, frames], 0 where nothing was added
        return tf.ragged.boolean_mask(unit_ids, unit_ids > 0)

    def transcribe(self, log_probabilities: tf.Tensor) -> tf.Tensor:
        """Transcripts `[batch]` (UTF-8, words separated by one space)."""
        ids = self.decode(log_probabilities)
        text = tf.strings.reduce_join(tf.gather(self.unit_texts, ids - 1), axis=-1)
        return tf.strings.strip(tf.strings.regex_replace(text, " +", " "))
