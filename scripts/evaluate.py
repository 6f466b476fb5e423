"""Test-set accuracy of the Keras model and of each .tflite, and their top-1 agreement with Keras."""

import argparse
import json

import numpy as np

from coralbuild.atomic import write_text
from coralbuild.data.prepared import class_names, load_split
from coralbuild.errors import reports_bad_input
from coralbuild.reporting.manifest import installed_versions

BATCH = 256  # test images per Keras predict call: memory stays flat whatever the test set's size


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, help="prepared dataset folder")
    parser.add_argument("--keras", help="the .keras checkpoint (absent for a brought int8 .tflite)")
    parser.add_argument("--input-range", type=float, nargs=2, default=(0.0, 1.0), metavar=("LOW", "HIGH"),
                        help="the float pixel range the model takes")
    parser.add_argument("--tflite", nargs="+", default=[], metavar="ARTIFACT=PATH",
                        help="named .tflite models, e.g. int8=model_int8.tflite")
    parser.add_argument("--output", required=True, help="metrics (JSON)")
    return parser.parse_args(argv)


def artifact_metrics(predicted, labels, reference):
    """Accuracy, and top-1 agreement with the Keras model when there is one."""
    metrics = {"accuracy": float(np.mean(predicted == labels))}
    if reference is not None:
        metrics["agreement_with_keras"] = float(np.mean(predicted == reference))
    return metrics


def keras_labels(path, images, input_range):
    from coralbuild.models.export import load_checkpoint
    from coralbuild.models.preprocessing import to_model_input

    model = load_checkpoint(path)
    batches = (model.predict_on_batch(to_model_input(images[start:start + BATCH], input_range))
               for start in range(0, len(images), BATCH))
    return np.concatenate([np.argmax(scores, axis=1) for scores in batches])


def input_quantization(interpreter):
    """The int8 model's input quantization and the float range raw pixels 0..255 stand for."""
    detail = interpreter.get_input_details()[0]
    scale, zero_point = detail["quantization"]
    offset = 128 if detail["dtype"] == np.int8 else 0  # an int8 input takes pixel - 128
    return {"dtype": np.dtype(detail["dtype"]).name, "scale": float(scale), "zero_point": int(zero_point),
            "pixel_range": [float((0 - offset - zero_point) * scale), float((255 - offset - zero_point) * scale)]}


@reports_bad_input
def main(argv=None):
    args = parse_args(argv)
    from coralbuild.measure.inference import input_fits, load_interpreter, output_fits, predict_labels

    split = load_split(args.data)
    images, labels = split["x_test"], split["y_test"]
    classes = class_names(args.data)
    # The tools this environment (the one that trains and converts) has, for the manifest.
    metrics = {"test_examples": int(len(labels)), "classes": classes, "input_range": list(args.input_range),
               "versions": installed_versions(), "artifacts": {}}
    reference = None
    if args.keras:
        reference = keras_labels(args.keras, images, args.input_range)
        metrics["artifacts"]["keras"] = {"accuracy": float(np.mean(reference == labels))}
    for named in args.tflite:
        name, path = named.split("=", 1)
        interpreter = load_interpreter(path)
        misfit = input_fits(interpreter, images.shape[1:]) or output_fits(interpreter, len(classes))
        if misfit:
            metrics["artifacts"][name] = {"accuracy": None, "not_evaluated": misfit}
            print(f"{name}: not evaluated: {misfit}")
            continue
        predicted = predict_labels(interpreter, images, args.input_range)
        metrics["artifacts"][name] = artifact_metrics(predicted, labels, reference)
        if interpreter.get_input_details()[0]["dtype"] != np.float32:
            metrics["artifacts"][name]["input_quantization"] = input_quantization(interpreter)
        print(f"{name}: {metrics['artifacts'][name]}")
    write_text(args.output, json.dumps(metrics, indent=2) + "\n")


if __name__ == "__main__":
    main()
