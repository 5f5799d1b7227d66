"""Sequence tagging (NER, POS): one tag per token, with a CRF or softmax output layer.

The model takes `[batch, tokens]` strings; the exported SavedModel also takes raw sentences,
splits them into tokens in the graph, and returns tags and entity spans.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from toolkit import atomic
from toolkit.config import ExportConfig, NoAugmentConfig
from toolkit.errors import DataError
from toolkit.tasks.base import Task

log = logging.getLogger("toolkit")
CONLL_SUFFIXES = (".conll", ".txt", ".conllu", ".iob", ".bio", ".tsv")


class SequenceTagging(Task):
    """Head, loss, decoding, span metrics and export signatures for sequence tagging."""

    name = "sequence_tagging"
    input_kind = "text"
    augment_config = NoAugmentConfig
    required_columns = ("tokens", "tags")
    stratify_column = None
    output_setting = "tags"
    source_settings = ("output_layer", "training_scheme")
    output_layers = {"tag_scores": "last", "crf": "all"}
    scratch_settings = ("word_vectors_file",)
    baseline_description = "CRF over word features (CRFsuite)"

    def __init__(
        self,
        tags: list[str] | None = None,
        tag_scheme: Literal["auto", "iob1", "iob2", "bioes", "none"] = "auto",
        training_scheme: Literal["data", "bioes"] = "data",
        output_layer: Literal["crf", "softmax"] = "crf",
        token_column: int = 0,
        tag_column: int = -1,
        conllu_tag_field: str = "upos",
        word_vectors_file: str | None = None,
    ):
        self.tags = list(tags) if tags else None
        self.tag_scheme = tag_scheme
        if training_scheme not in ("data", "bioes"):
            raise ValueError(f"training_scheme must be data or bioes, got {training_scheme!r}")
        # bioes: IOB1/IOB2 entity tags are learnt as BIOES (entity ends and single-token
        # entities get tags of their own) and predictions are turned back into the data's scheme.
        self.training_scheme = training_scheme
        self.output_layer = output_layer
        self.token_column = token_column
        self.tag_column = tag_column
        self.conllu_tag_field = conllu_tag_field
        # GloVe or word2vec text file that initialises the word embeddings (optional).
        self.word_vectors_file = word_vectors_file

    @property
    def default_monitor(self) -> str:
        return "val_f1"

    @property
    def selection_metric(self) -> str:
        # Span F1, or token accuracy for tags without a scheme (what `score` files as f1).
        return "f1"

    def get_config(self) -> dict[str, Any]:
        return {
            "tags": self.tags,
            "tag_scheme": self.tag_scheme,
            "training_scheme": self.training_scheme,
            "output_layer": self.output_layer,
            "token_column": self.token_column,
            "tag_column": self.tag_column,
            "conllu_tag_field": self.conllu_tag_field,
            "word_vectors_file": self.word_vectors_file,
        }

    # Data ----------------------------------------------------------------------------

    def read_file(self, path: Path, *, encoding_errors: str = "strict") -> pd.DataFrame | None:
        """CoNLL column files and CoNLL-U; None lets manifests (.csv, .jsonl) be read as tables."""
        from toolkit.text.readers import read_conll, read_conllu

        suffix = path.suffix.lower()
        if suffix == ".conllu":
            return read_conllu(path, self.conllu_tag_field, encoding_errors)
        if (
            suffix in CONLL_SUFFIXES
            and suffix != ".tsv"
            or path.name in ("eng.train", "eng.testa", "eng.testb")
        ):
            return read_conll(
                path, self.token_column, self.tag_column, encoding_errors=encoding_errors
            )
        return None

    def check_splits(
        self, splits: dict[str, pd.DataFrame], *, on_error: str, skipped: list[dict]
    ) -> dict[str, pd.DataFrame]:
        """Token and tag lists of equal length; tags seen in training; the scheme fixed."""
        from toolkit.data.text_check import reject
        from toolkit.text.spans import detect_scheme

        checked = {}
        for name, frame in splits.items():
            frame = frame.assign(
                tokens=[as_list(v) for v in frame["tokens"]],
                tags=[as_list(v) for v in frame["tags"]],
            )
            empty = np.array([len(tokens) == 0 for tokens in frame["tokens"]], dtype=bool)
            frame = reject(frame, empty, name, "empty sentence", on_error, skipped)
            uneven = np.array(
                [len(a) != len(b) for a, b in zip(frame["tokens"], frame["tags"], strict=True)],
                dtype=bool,
            )
            frame = reject(
                frame, uneven, name, "different numbers of tokens and tags", on_error, skipped
            )
            spaced = np.array(
                [
                    any(not t or any(c.isspace() for c in t) for t in tokens)
                    for tokens in frame["tokens"]
                ],
                dtype=bool,
            )
            frame = reject(
                frame, spaced, name, "a token is empty or holds a space", on_error, skipped
            )
            if frame.empty:
                raise DataError(f"{name}: no usable sentences left")
            checked[name] = frame.reset_index(drop=True)
        train_tags = list(checked["train"]["tags"])
        if self.tags is None:
            found = sorted({tag for tags in train_tags for tag in tags} - {"O"})
            self.tags = ["O", *found] if any("O" in tags for tags in train_tags) else found
        if self.tag_scheme == "auto":
            self.tag_scheme = detect_scheme(train_tags)
            log.info("tag scheme: %s (detected from the training tags)", self.tag_scheme)
        known = set(self.tags)
        for name, frame in checked.items():
            for row in frame.itertuples():
                unseen = [tag for tag in row.tags if tag not in known]
                if unseen:
                    raise DataError(
                        f"{name} {row.source}: tag {unseen[0]!r} never seen in training (training tags: {', '.join(self.tags)})"
                    )
        return checked

    def summary(self, splits: dict[str, pd.DataFrame], *, min_examples: int) -> list[str]:
        train = splits["train"]
        counts = pd.Series([tag for tags in train["tags"] for tag in tags]).value_counts()
        learnt = f", learnt as {len(self.model_tags)} BIOES tags" if self.learns_bioes else ""
        lines = [
            f"{len(self.tags)} tags ({self.tag_scheme}{learnt}); sentences per split: "
            + ", ".join(f"{name} {len(frame)}" for name, frame in splits.items()),
            "train tag counts: " + ", ".join(f"{tag} {counts.get(tag, 0)}" for tag in self.tags),
        ]
        for name, frame in splits.items():
            lengths = frame["tokens"].map(len)
            lines.append(
                f"{name} tokens: {int(lengths.sum())}; sentence length {lengths.min()}-{lengths.max()} (median {int(lengths.median())})"
            )
        few = [tag for tag in self.tags if counts.get(tag, 0) < min_examples]
        if few:
            lines.append(
                f"WARNING: tags with fewer than {min_examples} training tokens: {', '.join(few)}"
            )
        return lines

    @property
    def learns_bioes(self) -> bool:
        return self.training_scheme == "bioes" and self.tag_scheme in ("iob1", "iob2")

    @property
    def model_tags(self) -> list[str]:
        """The tags the output layer scores: the data's, or their BIOES counterparts."""
        from toolkit.text.spans import bioes_tag_set

        return bioes_tag_set(self.tags) if self.learns_bioes else self.tags

    def tag_ids(self, frame: pd.DataFrame) -> list[list[int]]:
        from toolkit.text.spans import to_bioes

        index = {tag: i for i, tag in enumerate(self.model_tags)}
        if self.learns_bioes:
            return [[index[tag] for tag in to_bioes(tags)] for tags in frame["tags"]]
        return [[index[tag] for tag in tags] for tags in frame["tags"]]

    def tag_names(self, ids, lengths):
        """Tag strings `[batch, time]` (padding "") in the data's scheme for model tag ids."""
        import tensorflow as tf

        from toolkit.text.spans import from_bioes

        mask = tf.sequence_mask(lengths, tf.shape(ids)[1])
        tags = tf.where(mask, tf.gather(tf.constant(self.model_tags), ids), "")
        return from_bioes(tags, self.tag_scheme) if self.learns_bioes else tags

    def adapt(self, *, features: Any, train: pd.DataFrame) -> None:
        from toolkit.text.token_features import long_word_count

        sentences = list(train["tokens"])
        features.adapt(sentences)
        log.info(
            "token features: %d words, %d characters",
            features.vocabulary_size(),
            features.character_vocabulary_size(),
        )
        cut = long_word_count(sentences, features.max_word_length)
        if cut:
            log.warning(
                "%d training tokens are longer than features.max_word_length=%d characters; the "
                "character features read their first %d (sentences of any length are read whole)",
                cut,
                features.max_word_length,
                features.max_word_length,
            )

    def dataset(
        self,
        frame: pd.DataFrame,
        *,
        batch_size: int,
        training: bool,
        augment: Any = None,
        resources: Any = None,
        cache: bool = True,
        seed: int = 0,
    ):
        from toolkit.data.tagging_pipeline import tagging_dataset

        return tagging_dataset(
            list(frame["tokens"]), self.tag_ids(frame), batch_size, training, seed
        )

    # Model ---------------------------------------------------------------------------

    def build_model(self, *, features: Any, backbone: Any, augment: Any):
        """tokens -> word, character and casing ids -> backbone -> tag scores (-> CRF)."""
        import keras

        from toolkit.text.crf import CRF

        tokens = keras.Input(shape=(None,), dtype="string", name="tokens")
        hidden = backbone(list(features(tokens)))
        if self.word_vectors_file:
            self.load_word_vectors(features, backbone)
        if self.output_layer == "crf":
            scores = keras.layers.Dense(len(self.model_tags), dtype="float32", name="tag_scores")(
                hidden
            )
            scores = CRF(len(self.model_tags), name="crf")(scores)
        else:
            scores = keras.layers.Dense(
                len(self.model_tags), activation="softmax", dtype="float32", name="tag_scores"
            )(hidden)
        return keras.Model(tokens, scores, name="sequence_tagger")

    def load_word_vectors(self, features, backbone) -> None:
        """Start the word embeddings from the vectors file where it has the word."""
        from toolkit.text.vectors import read_word_vectors

        vocabulary = [str(word) for word in features.words.get_vocabulary()]
        table = backbone.word_embedding.embeddings
        vectors, found = read_word_vectors(self.word_vectors_file, vocabulary, int(table.shape[1]))
        initial = np.asarray(table.numpy())
        initial[found] = vectors[found]
        table.assign(initial)
        log.info(
            "word vectors: %d of %d vocabulary words found in %s",
            int(found.sum()),
            len(vocabulary),
            self.word_vectors_file,
        )

    def fit_baseline(self, *, splits: dict[str, pd.DataFrame], batch_size: int) -> Any:
        from toolkit.baselines.tagging import fit_tagging_baseline

        names = self.model_tags
        return fit_tagging_baseline(
            sentences=[list(tokens) for tokens in splits["train"]["tokens"]],
            tags=[[names[i] for i in ids] for ids in self.tag_ids(splits["train"])],
            tag_names=names,
        )

    def register_layers(self) -> None:
        import toolkit.baselines.tagging  # noqa: F401
        import toolkit.text.crf  # noqa: F401
        import toolkit.text.token_features  # noqa: F401

    def loss(self, *, model: Any):
        from toolkit.text.crf import CRFLoss
        from toolkit.text.tagging_losses import masked_sparse_crossentropy

        if self.output_layer == "crf":
            return CRFLoss(model.get_layer("crf"))
        return masked_sparse_crossentropy

    def metrics(self) -> list:
        from toolkit.text.tagging_losses import token_accuracy

        return [token_accuracy]

    def validation_callbacks(self, *, valid: pd.DataFrame, batch_size: int) -> list:
        """Span F1 (or token accuracy for plain tags) on the validation split, every epoch."""
        from toolkit.validation_scores import ValidationScores

        sentences, truth = list(valid["tokens"]), list(valid["tags"])

        def score(model) -> dict[str, float]:
            predicted = self.predict_tags(model, sentences, batch_size)
            return {"val_f1": self.score(truth, predicted)["f1"]}

        return [ValidationScores(score)]

    # Fine-tuning ---------------------------------------------------------------------

    def output_names(self) -> list[str]:
        return list(self.model_tags)

    def adopt_source_outputs(self, *, source: Task) -> bool:
        """The same tags in the same scheme keep the source's order, so its head continues."""
        config = source.get_config()
        if set(self.tags) != set(config["tags"]) or self.tag_scheme != config["tag_scheme"]:
            return False
        self.tags = list(config["tags"])
        return True

    def report_unknown_tokens(self, *, features: Any, train: pd.DataFrame) -> float | None:
        from toolkit.data.text_check import report_unknown

        unknown, total = features.count_unknown(list(train["tokens"]))
        return report_unknown(unknown, total, "tokens")

    def extend_vocabulary(
        self, *, features: Any, train: pd.DataFrame
    ) -> dict[str, tuple[int, int]]:
        return features.extend_vocabulary(list(train["tokens"]))

    # Decoding ------------------------------------------------------------------------

    def decode(self, model, tokens):
        """Tag ids `[batch, time]` for padded token strings, through the model and decoder."""
        import tensorflow as tf

        scores = model(tokens, training=False)
        lengths = tf.reduce_sum(tf.cast(tf.not_equal(tokens, ""), tf.int32), axis=1)
        # By the layer rather than `output_layer`: a baseline (train.baseline) ends in a CRF
        # whatever the recipe's model does.
        crf = next((layer for layer in model.layers if layer.name == "crf"), None)
        if crf is not None:
            ids, _ = crf.decode(scores, tf.maximum(lengths, 1))
        else:
            ids = tf.argmax(scores, axis=-1, output_type=tf.int32)
        return ids, lengths

    def predict_tags(
        self, model, sentences: list[list[str]], batch_size: int = 64
    ) -> list[list[str]]:
        import tensorflow as tf

        predicted: list[list[str]] = []
        for start in range(0, len(sentences), batch_size):
            batch = sentences[start : start + batch_size]
            tokens = tf.ragged.constant(batch).to_tensor(default_value="")
            ids, lengths = self.decode(model, tokens)
            tags = self.tag_names(ids, lengths).numpy()
            for row, length in zip(tags, lengths.numpy(), strict=True):
                predicted.append([tag.decode("utf-8") for tag in row[:length]])
        return predicted

    # Evaluation ----------------------------------------------------------------------

    def score(self, truth: list[list[str]], predicted: list[list[str]]) -> dict[str, Any]:
        from toolkit.evaluation import tagging_metrics

        return tagging_metrics(truth, predicted, self.tag_scheme)

    def evaluate(
        self, *, model: Any, frame: pd.DataFrame, split: str, output_dir: Path, batch_size: int
    ) -> dict[str, Any]:
        """Span (or token) metrics for one split, and the sentences with most errors as CSV."""
        truth = list(frame["tags"])
        predicted = self.predict_tags(model, list(frame["tokens"]), batch_size)
        metrics = self.score(truth, predicted)
        wrong = [
            sum(a != b for a, b in zip(t, p, strict=True))
            for t, p in zip(truth, predicted, strict=True)
        ]
        order = [i for i in np.argsort(wrong, kind="stable")[::-1] if wrong[i] > 0]
        pd.DataFrame(
            {
                "source": frame["source"].to_numpy()[order] if len(order) else [],
                "wrong_tags": [wrong[i] for i in order],
                "tokens": [" ".join(frame["tokens"].iloc[i]) for i in order],
                "tags": [" ".join(truth[i]) for i in order],
                "predicted": [" ".join(predicted[i]) for i in order],
            }
        ).pipe(atomic.write_csv, Path(output_dir) / f"errors_{split}.csv")
        return metrics

    def predict(
        self, *, model: Any, inputs: list[Any], names: list[str], top_k: int, batch_size: int
    ) -> pd.DataFrame:
        """Tags and entities for raw sentences (split into tokens as the SavedModel splits
        them) or token lists."""
        import tensorflow as tf

        from toolkit.text.spans import entity_spans
        from toolkit.text.token_features import tokenize_sentences

        rows = []
        for start in range(0, len(inputs), batch_size):
            batch = inputs[start : start + batch_size]
            batch_names = names[start : start + batch_size]
            if all(isinstance(item, str) for item in batch):
                tokens = tokenize_sentences(tf.constant(batch))
            else:
                tokens = tf.ragged.constant([list(item) for item in batch]).to_tensor(
                    default_value=""
                )
            ids, lengths = self.decode(model, tokens)
            tags = self.tag_names(ids, lengths)
            spans = entity_spans(tokens, tags, self.tag_scheme)
            for i, name in enumerate(batch_names):
                n = int(lengths[i])
                rows.append(
                    {
                        "text": name,
                        "tokens": " ".join(t.decode() for t in tokens[i, :n].numpy()),
                        "tags": " ".join(t.decode() for t in tags[i, :n].numpy()),
                        "entities": "; ".join(
                            f"{kind.decode()}: {name.decode()}"
                            for name, kind in zip(
                                spans["entity_text"][i].numpy(),
                                spans["entity_type"][i].numpy(),
                                strict=True,
                            )
                            if kind
                        ),
                    }
                )
        return pd.DataFrame(rows)

    # Export --------------------------------------------------------------------------

    def export_endpoints(self, *, model: Any, export: ExportConfig) -> dict[str, tuple[Any, list]]:
        """SavedModel signatures: raw sentences, or tokens padded with ""; tags and spans out."""
        import tensorflow as tf

        from toolkit.text.spans import entity_spans
        from toolkit.text.token_features import tokenize_sentences

        tag_names = tf.constant(self.tags)
        scheme = self.tag_scheme

        def tag(tokens):
            ids, lengths = self.decode(model, tokens)
            tags = self.tag_names(ids, lengths)
            return {
                "tokens": tokens,
                "tags": tags,
                "lengths": lengths,
                **entity_spans(tokens, tags, scheme),
            }

        def from_sentences(sentences):
            return tag(tokenize_sentences(sentences))

        def from_tokens(tokens):
            return tag(tokens)

        def metadata():
            return {
                "tags": tag_names,
                "task": tf.constant(self.name),
                "tag_scheme": tf.constant(scheme),
            }

        return {
            "serving_default": (
                from_sentences,
                [tf.TensorSpec([None], tf.string, name="sentences")],
            ),
            "tokens": (from_tokens, [tf.TensorSpec([None, None], tf.string, name="tokens")]),
            "metadata": (metadata, []),
        }


def as_list(value: Any) -> list[str]:
    """Tokens or tags from a reader (a list), a JSON list, or space-separated text."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(item) for item in value]
    text = "" if value is None else str(value).strip()
    if text.startswith("["):
        try:
            return [str(item) for item in json.loads(text)]
        except json.JSONDecodeError:
            pass
    return text.split()
