"""Language-model decoding counts the utterances it decodes on one counter for a whole split."""

from __future__ import annotations

import numpy as np

from toolkit.speech.lm import build_arpa, read_arpa
from toolkit.speech.lm_decoder import decode_with_language_model, decoding_progress


def test_one_counter_across_batches(tmp_path):
    model = read_arpa(build_arpa(["a b", "b a"], 2, tmp_path / "lm.arpa"))
    units = [" ", "a", "b"]
    rng = np.random.default_rng(0)
    progress = decoding_progress(5, "test")
    for batch in (3, 2):
        logits = np.log(rng.dirichlet(np.ones(4), size=(batch, 6)))
        texts = decode_with_language_model(logits, units, model, 4, 0.5, 0.0, progress=progress)
        assert len(texts) == batch
    assert progress.done == 5 and progress.what == "decoding test with the language model"
    progress.close()
