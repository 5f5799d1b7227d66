"""Word and character error rates (jiwer), and per-utterance errors."""

from __future__ import annotations

import jiwer
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
