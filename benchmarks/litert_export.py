"""LiteRT and ONNX exports of a trained audio classifier beside its SavedModel: test
accuracy, file size and batch-1 latency on CPU, for each quantization.

    python benchmarks/litert_export.py --run-dir runs/fsdd --set data.root=../shared/data/fsdd --name fsdd

Exports the run as a SavedModel, and as LiteRT and ONNX with --quantize none, dynamic and
int8 (each checked by the toolkit against the Keras model when written; a refused or crashed
conversion is reported with its reason), then classifies every test clip one at a time with
each: the SavedModel through `serving_default`, LiteRT through its interpreter, ONNX through
ONNX Runtime. Latency is the median of those calls after ten untimed ones. Updates the
`litert_<name>` section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

import recipe_runs  # noqa: E402
import results  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", required=True, help="A trained audio classification run.")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="data.KEY=VALUE"
    )
    parser.add_argument("--output", default="runs/bench_litert", help="Where the exports go.")
    parser.add_argument("--quantize", default="none,dynamic,int8")
    parser.add_argument("--formats", default="litert,onnx")
    parser.add_argument(
        "--trained-with", default="", help="How the run was trained, for the notes."
    )
    parser.add_argument("--name", default="fsdd", help="RESULTS.md section: litert_NAME.")
    results.add_record_argument(parser)
    return parser.parse_args(argv)


def timed(call, inputs: np.ndarray) -> tuple[np.ndarray, float]:
    """Outputs for every input, one call each, and the median milliseconds of a call."""
    for item in inputs[:10]:
        call(item)
    outputs, seconds = [], []
    for item in inputs:
        started = time.perf_counter()
        outputs.append(call(item))
        seconds.append(time.perf_counter() - started)
    return np.stack(outputs), 1000 * statistics.median(seconds)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    recipe_runs.select_device("cpu")
    import tensorflow as tf

    from toolkit import runner
    from toolkit.errors import ToolkitError
    from toolkit.export.litert import interpreter
    from toolkit.export.onnx import session

    run = runner.open_run(args.run_dir)
    for setting in args.overrides:
        key, value = setting.split("=", 1)
        block, name = key.split(".", 1)
        run.recipe.blocks[block][name] = value
    task = run.task
    test = runner.load_data(run.recipe, task, run.directory)["test"]
    clips = task.export_inputs(test, count=len(test))
    truth = np.array([task.labels.index(str(label)) for label in test["label"]])
    output = Path(args.output)

    keras_accuracy = float(np.mean(run.model.predict(clips, verbose=0).argmax(-1) == truth))
    saved = runner.export(run, output / "saved_model", force=True)
    serve = tf.saved_model.load(str(saved)).signatures["serving_default"]
    probabilities, latency = timed(
        lambda clip: serve(waveforms=tf.constant(clip[np.newaxis]))["probabilities"].numpy()[0],
        clips,
    )
    saved_accuracy = float(np.mean(probabilities.argmax(-1) == truth))
    size = sum(path.stat().st_size for path in saved.rglob("*") if path.is_file())
    rows = [
        ["Keras model (model.predict)", "float32", f"{keras_accuracy:.2%}", "", "", ""],
        [
            "SavedModel",
            "float32",
            f"{saved_accuracy:.2%}",
            f"{size / 1e6:.2f} MB",
            f"{latency:.2f}",
            "",
        ],
    ]
    for format_name in args.formats.split(","):
        label = {"litert": "LiteRT", "onnx": "ONNX"}[format_name]
        for quantize in args.quantize.split(","):
            try:
                folder = runner.export(
                    run, output / f"{format_name}_{quantize}", True, format_name, quantize
                )
            except ToolkitError as error:
                rows.append([label, quantize, "-", "-", "-", f"not written: {error}"])
                continue
            model_file = next(path for path in folder.iterdir() if path.name.startswith("model."))
            check = json.loads((folder / "metadata.json").read_text())["check"]
            if format_name == "litert":
                model = interpreter(model_file.read_bytes())
                source, target = model.get_input_details()[0], model.get_output_details()[0]

                def classify(clip, model=model, source=source, target=target):
                    model.set_tensor(source["index"], clip[np.newaxis])
                    model.invoke()
                    return model.get_tensor(target["index"])[0]

            else:
                onnx_session = session(model_file)
                name = onnx_session.get_inputs()[0].name

                def classify(clip, onnx_session=onnx_session, name=name):
                    return onnx_session.run(None, {name: clip[np.newaxis]})[0][0]

            probabilities, latency = timed(classify, clips)
            accuracy = float(np.mean(probabilities.argmax(-1) == truth))
            rows.append(
                [
                    label,
                    quantize,
                    f"{accuracy:.2%}",
                    f"{model_file.stat().st_size / 1e6:.2f} MB",
                    f"{latency:.2f}",
                    f"export check on {check['inputs']}: max abs difference "
                    f"{check['max_abs_difference']:.2g}, same label {check['label_agreement']:.0%}",
                ]
            )
    recipe_name = args.name
    model_block = run.recipe.component("model")
    notes = [
        f"Run: {recipe_runs.display_path(run.directory)} ({model_block['type']} backbone, "
        f"{run.model.count_params():,} parameters); test split: {len(test)} clips."
        + (f" Trained with {args.trained_with}." if args.trained_with else ""),
        "Latency: one clip per call, median over the test clips after ten untimed calls, on "
        "this machine's CPU; the SavedModel's classifier is XLA-compiled "
        "(export.jit_compile), LiteRT runs with its default CPU kernels (XNNPACK), ONNX "
        "Runtime with its CPU execution provider.",
        "SavedModel size: every file of its folder.",
        "ONNX Runtime's quantizer covers convolutions and matrix products, not the GRU op that "
        "tf2onnx makes of a recurrent layer: in a CRNN's dynamic and int8 ONNX files the GRU "
        "weights (most of the model) stay float, hence sizes close to the float file's.",
    ]
    results.report(
        f"litert_{recipe_name}",
        f"LiteRT and ONNX exports against the SavedModel: {recipe_name}",
        ["format", "quantization", "test accuracy", "size", "batch-1 ms", "notes"],
        rows,
        notes,
        record=not args.no_record,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
