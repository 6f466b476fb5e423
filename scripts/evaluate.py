"""Test-set metrics of the Keras model and of each .tflite (accuracy, balanced and top-5 accuracy,
per-class precision, recall and F1, the confusion matrix), their top-1 agreement with Keras, and
the per-class recall the int8 model lost or gained against float32."""

import argparse
import json

import numpy as np

from coralbuild.atomic import write_text
from coralbuild.data.prepared import load_info, load_split
from coralbuild.errors import reports_bad_input
from coralbuild.measure.classification import (
    TOP_K,
    classification_metrics,
    int8_loss_warning,
    ranked_classes,
    recall_change,
)
from coralbuild.models.input_range import UNIT_RANGE
from coralbuild.reporting.manifest import installed_versions
from coralbuild.reporting.table import add_row_identity, row_identity
from coralbuild.statuses import not_measured
from coralbuild.tasks import DEFAULT_TASK, TASKS

BATCH = 256  # test images per Keras predict call: memory stays flat whatever the test set's size


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", help="prepared dataset folder; none: the model's outputs are not scored")
    parser.add_argument("--task", choices=sorted(TASKS), default=DEFAULT_TASK, help="what the model's outputs mean")
    parser.add_argument("--keras", help="the .keras checkpoint (absent for a brought int8 .tflite)")
    parser.add_argument("--input-range", type=float, nargs=2, default=UNIT_RANGE, metavar=("LOW", "HIGH"),
                        help="the float pixel range the model takes")
    parser.add_argument("--tflite", nargs="+", default=[], metavar="ARTIFACT=PATH",
                        help="named .tflite models, e.g. int8=model_int8.tflite")
    parser.add_argument("--representative-samples", type=int,
                        help="quantize.representative_samples of a model quantized here (the calibration images asked for)")
    add_row_identity(parser)
    parser.add_argument("--output", required=True, help="metrics (JSON)")
    return parser.parse_args(argv)


def artifact_metrics(ranked, labels, classes, reference):
    """The classification metrics of one model's ranked predictions, and its top-1 agreement with
    the Keras model when there is one."""
    metrics = classification_metrics(labels, ranked, classes)
    if reference is not None:
        metrics["agreement_with_keras"] = float(np.mean(ranked[:, 0] == reference))
    return metrics


def keras_ranked(path, images, input_range, k):
    """The `k` best classes of every test image by the Keras model, best first."""
    from coralbuild.models.export import load_checkpoint
    from coralbuild.models.preprocessing import to_model_input

    model = load_checkpoint(path)
    batches = (model.predict_on_batch(to_model_input(images[start:start + BATCH], input_range))
               for start in range(0, len(images), BATCH))
    return np.concatenate([ranked_classes(scores, k) for scores in batches])


def calibration(requested, training_images):
    """How many training images calibrated the int8 model: quantize_int8 takes all of them when
    there are fewer than requested (convert_tflite.representative_images)."""
    used = min(requested, training_images)
    note = None if used == requested else (f"calibrated on all {used} training images, fewer than "
                                           f"quantize.representative_samples ({requested})")
    return {"representative_samples": requested, "training_images": training_images, "used": used, "note": note}


def input_quantization(interpreter):
    """The int8 model's input quantization and the float range raw pixels 0..255 stand for."""
    detail = interpreter.get_input_details()[0]
    scale, zero_point = detail["quantization"]
    offset = 128 if detail["dtype"] == np.int8 else 0  # an int8 input takes pixel - 128
    return {"dtype": np.dtype(detail["dtype"]).name, "scale": float(scale), "zero_point": int(zero_point),
            "pixel_range": [float((0 - offset - zero_point) * scale), float((255 - offset - zero_point) * scale)]}


def summary_line(metrics):
    """The figures of one artifact worth a log line (the per-class tables are in the JSON)."""
    keys = ("accuracy", "balanced_accuracy", f"top{TOP_K}_accuracy", "agreement_with_keras")
    return ", ".join(f"{key} {metrics[key]:.4f}" for key in keys if metrics.get(key) is not None)


def model_facts(args):
    """The task, the int8 model's input and output tensors and, for a detector, its head."""
    from coralbuild.measure.inference import load_interpreter
    from coralbuild.measure.model_io import check_detector, describe_io

    int8 = dict(named.split("=", 1) for named in args.tflite).get("int8")
    facts = {"task": args.task, "model_io": describe_io(load_interpreter(int8)) if int8 else None}
    if args.task == "detect":
        facts["head"] = check_detector(int8)
    return facts


def unscored_metrics(args):
    """metrics.json of a model run on no dataset: what it is, and why no accuracy."""
    why = f"no dataset to score a task-{args.task} model on"
    for named in args.tflite:
        print(f"{named.split('=', 1)[0]}: {not_measured(why)}")
    return {"test_examples": 0, "classes": [], "input_range": list(args.input_range),
            "versions": installed_versions(), "dataset_warnings": [],
            "artifacts": {named.split("=", 1)[0]: {"accuracy": None, "not_evaluated": why} for named in args.tflite}}


def detection_metrics(args, kind):
    """metrics.json of a detector on a yolo-format split: the mAP of each .tflite (measure/detection.py)."""
    from coralbuild.measure.detection import DECODED_HEADS, coco_map, detect_split, head_of
    from coralbuild.measure.inference import load_interpreter

    info = load_info(args.data)
    metrics = {"test_examples": info["counts"]["images"], "classes": info["classes"], "input_range": list(args.input_range),
               "versions": installed_versions(), "dataset_warnings": info.get("warnings", []), "artifacts": {}}
    for named in args.tflite:
        name, path = named.split("=", 1)
        interpreter = load_interpreter(path)
        # Decoded as the device measurement decodes it: from the interpreter's tensors.
        head = head_of(interpreter.get_input_details(), interpreter.get_output_details())
        if head is None:
            why = (f"its outputs are not those of the {kind} head it was recognised as, nor of another "
                   f"head whose mAP is computed (decoded: {', '.join(DECODED_HEADS)})")
            metrics["artifacts"][name] = {"accuracy": None, "not_evaluated": why}
            print(f"{name}: {not_measured(why)}")
            continue
        ground_truth, found = detect_split(interpreter, head["kind"], args.data)
        figures = coco_map(ground_truth, found)
        metrics["artifacts"][name] = {"accuracy": None, **figures, "boxes": len(ground_truth["annotations"]),
                                      "detections": len(found)}
        print(f"{name}: mAP@0.5 {figures['map50']:.4f}, mAP@0.5:0.95 {figures['map50_95']:.4f} "
              f"({len(found)} detections, {len(ground_truth['annotations'])} boxes in {metrics['test_examples']} images)")
    return metrics


@reports_bad_input
def main(argv=None):
    args = parse_args(argv)
    from coralbuild.measure.inference import input_fits, load_interpreter, output_fits, predict_ranked

    facts = model_facts(args)
    if args.data is None or args.task == "detect":
        scored = unscored_metrics(args) if args.data is None else detection_metrics(args, facts["head"]["kind"])
        write_text(args.output, json.dumps({**row_identity(args), **facts, **scored}, indent=2) + "\n")
        return
    split = load_split(args.data)
    images, labels = split["x_test"], split["y_test"]
    info = load_info(args.data)
    classes = info["classes"]
    k = min(TOP_K, len(classes))
    # The tools this environment (the one that trains and converts) has, for the manifest.
    metrics = {"test_examples": int(len(labels)), "classes": classes, "input_range": list(args.input_range),
               "versions": installed_versions(), "dataset_warnings": info.get("warnings", []), "artifacts": {}}
    if args.representative_samples is not None:
        metrics["calibration"] = calibration(args.representative_samples, len(split["x_train"]))
        print(f"calibration: {metrics['calibration']['note'] or f'{args.representative_samples} training images'}")
    reference = None
    if args.keras:
        ranked = keras_ranked(args.keras, images, args.input_range, k)
        reference = ranked[:, 0]
        metrics["artifacts"]["keras"] = artifact_metrics(ranked, labels, classes, None)
        print(f"keras: {summary_line(metrics['artifacts']['keras'])}")
    for named in args.tflite:
        name, path = named.split("=", 1)
        interpreter = load_interpreter(path)
        misfit = input_fits(interpreter, images.shape[1:]) or output_fits(interpreter, len(classes))
        if misfit:
            metrics["artifacts"][name] = {"accuracy": None, "not_evaluated": misfit}
            print(f"{name}: not evaluated: {misfit}")
            continue
        ranked = predict_ranked(interpreter, images, args.input_range, k)
        metrics["artifacts"][name] = artifact_metrics(ranked, labels, classes, reference)
        if interpreter.get_input_details()[0]["dtype"] != np.float32:
            metrics["artifacts"][name]["input_quantization"] = input_quantization(interpreter)
        print(f"{name}: {summary_line(metrics['artifacts'][name])}")
    evaluated = {name: figures for name, figures in metrics["artifacts"].items() if "per_class" in figures}
    if {"float32", "int8"} <= set(evaluated):
        changes = recall_change(evaluated["float32"], evaluated["int8"], classes, ("float32", "int8"))
        metrics["int8_recall_change"] = changes
        print("int8 recall against float32, worst first (points): "
              + ", ".join(f"{change['class']} {100 * change['change']:+.2f}" for change in changes[:5]))
        warning = int8_loss_warning(evaluated["float32"]["accuracy"], evaluated["int8"]["accuracy"], len(labels))
        if warning:
            print(warning.replace("warning: ", f"warning: {args.output}: ", 1))
    for warning in metrics["dataset_warnings"]:
        print(f"warning: dataset: {warning}")
    write_text(args.output, json.dumps({**row_identity(args), **facts, **metrics}, indent=2) + "\n")


if __name__ == "__main__":
    main()
