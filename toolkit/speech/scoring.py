"""Word and character error rates (jiwer), per-utterance errors, and the validation callback."""

from __future__ import annotations

import jiwer
import keras
import pandas as pd


def error_rates(references: list[str], hypotheses: list[str]) -> dict[str, float]:
    """Corpus WER and CER: edits over all utterances divided by reference words (characters)."""
    words = jiwer.process_words(references, hypotheses)
    characters = jiwer.process_characters(references, hypotheses)
    return {"wer": float(words.wer), "cer": float(characters.cer)}


def utterance_errors(
    frame: pd.DataFrame, references: list[str], hypotheses: list[str]
) -> pd.DataFrame:
    """One row per utterance with its word errors, worst first (ties: the longer reference)."""
    rows = []
    for source, audio, reference, hypothesis in zip(
        frame["source"], frame["audio"], references, hypotheses, strict=True
    ):
        words = jiwer.process_words(reference, hypothesis)
        errors = words.substitutions + words.deletions + words.insertions
        rows.append(
            {
                "source": source,
                "audio": audio,
                "reference": reference,
                "hypothesis": hypothesis,
                "word_errors": errors,
                "substitutions": words.substitutions,
                "deletions": words.deletions,
                "insertions": words.insertions,
                "wer": round(float(words.wer), 4),
            }
        )
    table = pd.DataFrame(rows)
    return table.sort_values(["word_errors", "wer"], ascending=False, kind="stable").reset_index(
        drop=True
    )


class ValidationErrorRates(keras.callbacks.Callback):
    """Greedy-decodes the validation split after every epoch and adds `val_wer` and `val_cer`
    to the logs (checkpoints and early stopping read them; it must come before them)."""

    def __init__(self, task, valid: pd.DataFrame, batch_size: int):
        super().__init__()
        self.task = task
        self.valid = valid
        self.references = list(valid["transcript"])
        self.batch_size = batch_size

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        hypotheses = self.task.transcribe(self.model, self.valid, self.batch_size, ("greedy",))
        rates = error_rates(self.references, hypotheses["greedy"])
        if logs is not None:
            logs["val_wer"] = rates["wer"]
            logs["val_cer"] = rates["cer"]
