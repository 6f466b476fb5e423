"""Test-set accuracy of the Keras model and of each .tflite, and their top-1 agreement with Keras."""

import argparse
import json

import numpy as np

from coralbuild.atomic import write_text
from coralbuild.data.split import load_split
from coralbuild.errors import reports_bad_input


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, help="prepared split (.npz)")
    parser.add_argument("--keras", required=True, help="the .keras checkpoint")
    parser.add_argument("--tflite", nargs="+", default=[], metavar="ARTIFACT=PATH",
                        help="named .tflite models, e.g. int8=model_int8.tflite")
    parser.add_argument("--output", required=True, help="metrics (JSON)")
    return parser.parse_args(argv)


def artifact_metrics(predicted, labels, reference):
    return {
        "accuracy": float(np.mean(predicted == labels)),
        "agreement_with_keras": float(np.mean(predicted == reference)),
    }


@reports_bad_input
def main(argv=None):
    args = parse_args(argv)
    from coralbuild.models.export import load_checkpoint
    from coralbuild.measure.inference import load_interpreter, predict_labels
    from coralbuild.models.preprocessing import to_model_input

    split = load_split(args.data)
    images, labels = split["x_test"], split["y_test"]
    keras_labels = np.argmax(load_checkpoint(args.keras).predict(to_model_input(images), verbose=0), axis=1)
    metrics = {"test_examples": int(len(labels)), "artifacts": {"keras": {"accuracy": float(np.mean(keras_labels == labels))}}}
    for named in args.tflite:
        name, path = named.split("=", 1)
        predicted = predict_labels(load_interpreter(path), images)
        metrics["artifacts"][name] = artifact_metrics(predicted, labels, keras_labels)
        print(f"{name}: {metrics['artifacts'][name]}")
    write_text(args.output, json.dumps(metrics, indent=2) + "\n")


if __name__ == "__main__":
    main()
