"""AN4 speech recognition: WER/CER with greedy, beam and beam + LM decoding, training time,
peak memory, the exported SavedModel's WER/CER (in a process that never imports the toolkit)
and real-time factor beside the Python paths, and LM beam search speed in the graph against
the Python reference decoder.

    python benchmarks/an4.py --an4 ../shared/data/an4
    python benchmarks/an4.py --an4 ../shared/data/an4 --run-dir runs/an4   # score a trained run

Trains `recipes/speech_recognition/an4.yaml` (data.root set to --an4) through the toolkit's
library calls, or opens a run directory that `toolkit run` already trained from it, scores
the 130 test utterances with every decoder, exports the SavedModel (again: it must carry the
current decoder) and times the paths over the test set (CPU). Updates the `an4` section of
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import recipe_runs  # noqa: E402
import results  # noqa: E402

SECTION = "an4"
DEFAULT_RECIPE = "recipes/speech_recognition/an4.yaml"
PUBLISHED = [
    ["ESPnet transformer + LM (beam 10, speed perturbation)", "7.4%", "3.6%"],
    ["ESPnet transformer, no LM", "7.6%", "3.6%"],
    ["Kaldi speaker-adapted GMM, unigram LM", "5.95%", ""],
    ["deepspeech.pytorch DeepSpeech2 (~100 GPU epochs)", "10.5%", "4.8%"],
]


def without_unknown_word_penalty(run, test) -> dict[str, float] | None:
    """Beam + LM error rates with the unknown-word penalty switched off (what it is worth)."""
    from toolkit.speech.scoring import error_rates

    task = run.task
    if not task.unknown_word_penalty or task.language_model() is None:
        return None
    penalty, task.unknown_word_penalty = task.unknown_word_penalty, 0.0
    try:
        batch_size = run.recipe.train.batch_size
        hypotheses = task.transcribe(run.model, test, batch_size, ("beam_lm",))["beam_lm"]
    finally:
        task.unknown_word_penalty = penalty
    return error_rates(list(test["transcript"]), hypotheses)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--an4", required=True, help="AN4 root (holding etc/ and wav/).")
    parser.add_argument("--recipe", default=DEFAULT_RECIPE)
    parser.add_argument("--output", default="runs/bench_an4")
    parser.add_argument("--run-dir", help="Score this trained run instead of training one.")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--device", choices=["auto", "cpu", "gpu"], default="cpu")
    results.add_record_argument(parser)
    return parser.parse_args(argv)


def real_time_factors(run, test) -> dict[str, float]:
    """Seconds of computation per second of audio over the test set: the exported SavedModel
    and `task.transcribe` one utterance at a time (both with the recipe's decoder), and the
    Python API's `predict` on the run directory with every file at once."""
    import numpy as np
    import tensorflow as tf

    import toolkit
    from toolkit.audio.io import read_audio

    waveforms = [read_audio(path, run.task.sample_rate) for path in test["audio"]]
    audio_seconds = sum(len(w) for w in waveforms) / run.task.sample_rate
    serve = tf.saved_model.load(str(run.directory / "export" / "saved_model")).signatures[
        "serving_default"
    ]
    decoder = run.task.decoder if run.task.language_model() is not None else "beam"
    loaded = toolkit.load(run.directory)

    def python_path(index: int) -> None:
        run.task.transcribe(run.model, test.iloc[index : index + 1], 1, (decoder,))

    def saved_model(index: int) -> None:
        wave = waveforms[index]
        serve(waveforms=tf.constant(wave[np.newaxis]), lengths=tf.constant([len(wave)]))

    factors = {}
    for name, call in (("python", python_path), ("saved_model", saved_model)):
        call(0)  # tracing
        started = time.perf_counter()
        for index in range(len(waveforms)):
            call(index)
        factors[name] = (time.perf_counter() - started) / audio_seconds
    loaded.predict(list(test["audio"][:2]))  # tracing
    started = time.perf_counter()
    loaded.predict(list(test["audio"]))
    factors["predict"] = (time.perf_counter() - started) / audio_seconds
    return factors


SERVE_WITHOUT_TOOLKIT = textwrap.dedent(
    """
    import json, sys
    import soundfile, tensorflow as tf
    serve = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
    texts = []
    for path in json.load(open(sys.argv[2])):
        wave = soundfile.read(path, dtype="float32")[0]
        out = serve(waveforms=tf.constant(wave[None]), lengths=tf.constant([len(wave)]))
        texts.append(out["transcript"].numpy()[0].decode("utf-8"))
    json.dump(texts, open(sys.argv[3], "w"))
    assert "toolkit" not in sys.modules
    """
)


def saved_model_scores(run, test, work: Path) -> dict[str, float]:
    """WER/CER of the exported SavedModel over the test set, transcribed in a process that
    never imports the toolkit, one utterance at a time."""
    from toolkit.speech.scoring import error_rates

    work.mkdir(parents=True, exist_ok=True)
    (work / "paths.json").write_text(json.dumps(list(test["audio"])))
    script = work / "serve.py"
    script.write_text(SERVE_WITHOUT_TOOLKIT)
    subprocess.run(
        [
            sys.executable,
            str(script),
            str(run.directory / "export" / "saved_model"),
            str(work / "paths.json"),
            str(work / "texts.json"),
        ],
        check=True,
        capture_output=True,
        cwd=work,
    )
    texts = json.loads((work / "texts.json").read_text())
    return error_rates(list(test["transcript"]), texts)


def language_model_decoding(run, test) -> dict[str, float] | None:
    """Beam + LM decoding of the test set's model outputs (computed once, batches of the
    recipe's batch size, as `evaluate` decodes them): the Python reference decoder against
    the in-graph one, seconds and WER of each."""
    import tensorflow as tf

    from toolkit.speech.ctc import SUBWORD_SPACE
    from toolkit.speech.lm_decoder import decode_with_language_model
    from toolkit.speech.scoring import error_rates

    task = run.task
    if task.language_model() is None:
        return None
    batches = list(task.logits_batches(run.model, test, run.recipe.train.batch_size))
    units = [unit.replace(SUBWORD_SPACE, " ") for unit in task.output_units]
    task.decode_with_language_model(batches[0][1][:1])  # tracing
    references = list(test["transcript"])
    figures = {}
    for name in ("python", "graph"):
        texts = [""] * len(test)
        started = time.perf_counter()
        for positions, logits in batches:
            if name == "python":
                decoded = decode_with_language_model(
                    tf.nn.log_softmax(logits).numpy().astype("float64"),
                    units,
                    task.language_model(),
                    task.beam_width,
                    task.lm_weight,
                    task.word_bonus,
                    task.unknown_word_penalty,
                )
            else:
                decoded = task.decode_with_language_model(logits)
            for position, text in zip(positions, decoded, strict=True):
                texts[position] = text
        figures[f"{name}_seconds"] = time.perf_counter() - started
        figures[f"{name}_wer"] = error_rates(references, texts)["wer"]
        figures[f"{name}_texts"] = texts
    figures["utterances"] = len(test)
    figures["same"] = sum(
        a == b for a, b in zip(figures.pop("python_texts"), figures.pop("graph_texts"), strict=True)
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    recipe_runs.select_device(args.device)
    from toolkit import runner

    root = Path(args.an4).expanduser().resolve()
    recipe = recipe_runs.resolve_recipe(args.recipe)
    if args.run_dir:
        run_dir = Path(args.run_dir).resolve()
        trained_here = False
    else:
        run_dir = Path(args.output).resolve()
        recipe_runs.train_and_evaluate(
            recipe,
            [f"data.root={root}", *args.overrides],
            run_dir,
            args.device,
            export=True,
            metric="wer",
        )
        trained_here = True
    peak_training_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    run = runner.open_run(run_dir)
    run.recipe.blocks["data"]["root"] = str(root)
    test = runner.evaluate(run, splits=("test",))["test"]
    runner.export(run, force=True)
    frame = runner.load_data(run.recipe, run.task, run_dir)["test"]
    exported = saved_model_scores(run, frame, Path(args.output).resolve() / "saved_model_check")
    decoding = language_model_decoding(run, frame)
    factors = real_time_factors(run, frame)
    ablation = without_unknown_word_penalty(run, frame)
    training = json.loads((run_dir / "training.json").read_text())
    history = (run_dir / "history.csv").read_text().strip().splitlines()

    rows = [
        [
            f"toolkit, {name.replace('_', ' + ').replace('beam + lm', 'beam + LM')}",
            f"{test[f'{name}_wer']:.2%}",
            f"{test[f'{name}_cer']:.2%}",
        ]
        for name in ("greedy", "beam", "beam_lm")
        if f"{name}_wer" in test
    ]
    rows.append(
        [
            "toolkit SavedModel, in a process without the toolkit (the recipe's decoder)",
            f"{exported['wer']:.2%}",
            f"{exported['cer']:.2%}",
        ]
    )
    if ablation:
        rows.append(
            [
                "toolkit, beam + LM without the unknown-word penalty",
                f"{ablation['wer']:.2%}",
                f"{ablation['cer']:.2%}",
            ]
        )
    rows += [[f"published: {system}", wer, cer] for system, wer, cer in PUBLISHED]
    model = run.recipe.component("model")
    memory = (
        f"peak resident memory of the benchmark process (training included): {peak_training_mb:,.0f} MB"
        if trained_here
        else (
            f"peak resident memory during training: {training['peak_memory_mb']:,.0f} MB"
            if "peak_memory_mb" in training
            else "peak memory: not recorded for this run"
        )
    )
    notes = [
        f"Data: AN4 train ({training['train_examples']} utterances after holding out "
        f"{training['valid_examples']} for checkpoint selection by validation WER) and test "
        f"({test['utterances']} utterances, {test['audio_seconds']:.0f} s, speakers unseen in "
        "training). No data beyond AN4's training set; the word 3-gram LM is built from the "
        "training transcripts.",
        f"Model: {model['type']}, {training['parameters']:,} parameters; {len(history) - 1} epochs "
        f"in {results.seconds(training['seconds'])} of model.fit on CPU; {memory}.",
        f"Beam width {run.task.beam_width}; LM weight {run.task.lm_weight}, word bonus "
        f"{run.task.word_bonus}, unknown-word penalty {run.task.unknown_word_penalty} (log10, "
        f"the default; pyctcdecode's default offset is the same). The recipe's decoder ({test['decoder']}) gives metrics.json's wer/cer.",
        f"Real-time factor over the test set, one utterance at a time: SavedModel "
        f"{factors['saved_model']:.4f} (decoder in its metadata: {exported_decoder(run_dir)}), "
        f"Python path {factors['python']:.4f} (task.transcribe: reads the file and builds its "
        "tf.data pipeline on every call, then the Keras model and the same decoder); "
        f"`toolkit.load(RUN_DIR).predict(all test files)`: {factors['predict']:.4f}.",
        *decoding_notes(decoding),
        f"Run directory: {recipe_runs.display_path(run_dir)}.",
    ]
    headers = ["system", "test WER", "test CER"]
    results.report(
        SECTION, "AN4 speech recognition", headers, rows, notes, record=not args.no_record
    )
    return 0


def exported_decoder(run_dir: Path) -> str:
    import tensorflow as tf

    metadata = tf.saved_model.load(str(run_dir / "export" / "saved_model")).signatures["metadata"]()
    decoder = metadata["decoder"].numpy().decode()
    language_model = metadata["language_model"].numpy().decode()
    return decoder if language_model == "none" else f"{decoder}, LM {language_model}"


def decoding_notes(decoding: dict[str, float] | None) -> list[str]:
    if decoding is None:
        return []
    return [
        "Beam + LM decoding of the test set's model outputs (computed once; batches of the "
        f"recipe's batch size): Python reference decoder {decoding['python_seconds']:.2f} s "
        f"(WER {decoding['python_wer']:.2%}), in-graph decoder {decoding['graph_seconds']:.2f} s "
        f"(WER {decoding['graph_wer']:.2%}), {decoding['python_seconds'] / decoding['graph_seconds']:.1f}x "
        f"faster; the same transcript for {decoding['same']} of {decoding['utterances']} "
        "utterances.",
    ]


if __name__ == "__main__":
    sys.exit(main())
