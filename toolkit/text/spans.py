"""Entity spans from tag sequences (IOB1, IOB2, BIOES), as graph ops.

The same function serves the Python path and the exported SavedModel, so both return the
same spans. Spans are given by token positions: `start` is the first token, `end` one past
the last; `text` is the entity's tokens joined with spaces.
"""

from __future__ import annotations

import tensorflow as tf

SCHEMES = ("iob1", "iob2", "bioes", "none")
PREFIXES = ("B-", "I-", "E-", "S-")


def detect_scheme(tag_sequences: list[list[str]]) -> str:
    """The scheme training tags follow: "none" (POS-like), "bioes", "iob1" or "iob2"."""
    prefixes = {tag[:2] for tags in tag_sequences for tag in tags if tag != "O"}
    if not prefixes or not prefixes <= set(PREFIXES):
        return "none"
    if prefixes & {"E-", "S-"}:
        return "bioes"
    for tags in tag_sequences:
        previous = "O"
        for tag in tags:
            # IOB1 opens an entity with I-; IOB2 always opens with B-.
            if tag.startswith("I-") and (previous == "O" or previous[2:] != tag[2:]):
                return "iob1"
            previous = tag
    return "iob2"


def entity_spans(tokens: tf.Tensor, tags: tf.Tensor, scheme: str) -> dict[str, tf.Tensor]:
    """[batch, time] tokens and tags (padding "") -> padded [batch, entities] spans.

    Returns `entity_text`, `entity_type` (padding ""), `entity_start`, `entity_end` (padding -1).
    """
    tags = tf.convert_to_tensor(tags)
    tokens = tf.convert_to_tensor(tokens)
    batch = tf.shape(tags)[0]
    if scheme == "none":
        empty_strings = tf.fill([batch, 0], "")
        empty_ints = tf.fill([batch, 0], -1)
        return {
            "entity_text": empty_strings,
            "entity_type": empty_strings,
            "entity_start": empty_ints,
            "entity_end": empty_ints,
        }
    prefix = tf.strings.substr(tags, 0, 2)
    kind = tf.strings.regex_replace(tags, r"^[BIES]-", "")
    inside = tf.logical_and(tf.not_equal(tags, "O"), tf.not_equal(tags, ""))
    previous_inside = tf.pad(inside[:, :-1], [[0, 0], [1, 0]])
    previous_kind = tf.pad(kind[:, :-1], [[0, 0], [1, 0]])
    previous_prefix = tf.pad(prefix[:, :-1], [[0, 0], [1, 0]])
    opens = tf.logical_or(tf.logical_not(previous_inside), tf.not_equal(previous_kind, kind))
    opens = tf.logical_or(opens, tf.equal(prefix, "B-"))
    if scheme == "bioes":
        opens = tf.logical_or(opens, tf.equal(prefix, "S-"))
        closed_before = tf.logical_or(
            tf.equal(previous_prefix, "E-"), tf.equal(previous_prefix, "S-")
        )
        opens = tf.logical_or(opens, closed_before)
    begins = tf.logical_and(inside, opens)
    counts = tf.reduce_sum(tf.cast(begins, tf.int32), axis=1)
    # Entity number of every inside position, counted over the whole batch in row order.
    number = tf.cumsum(tf.reshape(tf.cast(begins, tf.int32), [-1])) - 1
    flat_inside = tf.reshape(inside, [-1])
    segment = tf.boolean_mask(number, flat_inside)
    total = tf.reduce_sum(counts)
    time = tf.shape(tags)[1]
    position = tf.tile(tf.range(time)[tf.newaxis, :], [batch, 1])
    flat_position = tf.boolean_mask(tf.reshape(position, [-1]), flat_inside)
    start = tf.math.unsorted_segment_min(flat_position, segment, total)
    end = tf.math.unsorted_segment_max(flat_position, segment, total) + 1
    text = tf.strings.unsorted_segment_join(
        tf.boolean_mask(tf.reshape(tokens, [-1]), flat_inside), segment, total, separator=" "
    )
    entity_kind = tf.boolean_mask(tf.reshape(kind, [-1]), tf.reshape(begins, [-1]))

    def padded(values, default):
        return tf.RaggedTensor.from_row_lengths(values, counts).to_tensor(default_value=default)

    return {
        "entity_text": padded(text, ""),
        "entity_type": padded(entity_kind, ""),
        "entity_start": padded(start, -1),
        "entity_end": padded(end, -1),
    }


def to_bioes(tags: list[str]) -> list[str]:
    """IOB1 or IOB2 tags -> BIOES. An entity starts at B-X, or at I-X not preceded by a tag
    of type X; that rule reads both schemes."""
    converted = []
    for position, tag in enumerate(tags):
        if tag == "O" or tag[:2] not in ("B-", "I-"):
            converted.append(tag)
            continue
        kind = tag[2:]
        previous = tags[position - 1] if position else "O"
        following = tags[position + 1] if position + 1 < len(tags) else "O"
        begins = tag.startswith("B-") or previous[2:] != kind or previous == "O"
        continues = following == f"I-{kind}"
        prefix = {(True, True): "B-", (True, False): "S-", (False, True): "I-"}.get(
            (begins, continues), "E-"
        )
        converted.append(prefix + kind)
    return converted


def bioes_tag_set(tags: list[str]) -> list[str]:
    """The BIOES tags for the entity types among IOB `tags` (O first when present)."""
    kinds = sorted({tag[2:] for tag in tags if tag != "O"})
    bioes = [f"{prefix}-{kind}" for kind in kinds for prefix in "BIES"]
    return ["O", *bioes] if "O" in tags else bioes


def from_bioes(tags: tf.Tensor, scheme: str) -> tf.Tensor:
    """BIOES tags `[batch, time]` (padding "") -> the same entities in IOB2 or IOB1, as
    graph ops."""
    tags = tf.convert_to_tensor(tags)
    iob2 = tf.strings.regex_replace(tf.strings.regex_replace(tags, r"^S-", "B-"), r"^E-", "I-")
    if scheme == "iob2":
        return iob2
    # IOB1 keeps B- only where an entity follows another of the same type.
    kind = tf.strings.regex_replace(iob2, r"^[BI]-", "")
    inside = tf.logical_and(tf.not_equal(iob2, "O"), tf.not_equal(iob2, ""))
    previous_inside = tf.pad(inside[:, :-1], [[0, 0], [1, 0]])
    previous_kind = tf.pad(kind[:, :-1], [[0, 0], [1, 0]])
    after_same = tf.logical_and(previous_inside, tf.equal(previous_kind, kind))
    opens = tf.logical_and(
        tf.equal(tf.strings.substr(iob2, 0, 2), "B-"), tf.logical_not(after_same)
    )
    return tf.where(opens, tf.strings.join(["I-", kind]), iob2)
