"""Convert a SavedModel to a float32 .tflite, or to a fully int8 .tflite with real calibration images."""

import argparse
import json

import numpy as np

from coralbuild.atomic import atomic_output, write_text
from coralbuild.data.labels import labels_text
from coralbuild.data.prepared import class_names, load_split
from coralbuild.defaults import with_defaults
from coralbuild.errors import reports_bad_input
from coralbuild.models.input_range import UNIT_RANGE


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--saved-model", required=True, help="SavedModel folder")
    parser.add_argument("--kind", choices=["float32", "int8"], required=True)
    parser.add_argument("--data", help="prepared dataset folder with the calibration images (int8 only)")
    parser.add_argument("--input-range", type=float, nargs=2, default=UNIT_RANGE, metavar=("LOW", "HIGH"),
                        help="the float pixel range the model takes (int8 only)")
    parser.add_argument("--settings", type=json.loads, default={}, help="quantize section (JSON; int8 only; keys left out take the schema's defaults)")
    parser.add_argument("--labels", help="labels.txt to write beside the int8 model: class names in index order")
    parser.add_argument("--output", required=True, help="the .tflite to write")
    args = parser.parse_args(argv)
    if args.kind == "int8" and not args.data:
        parser.error("--kind int8 needs --data")
    return args


def representative_images(data_path, count):
    """The first `count` training images (the split is already a seeded shuffle); all of them,
    saying so, when there are fewer (a small photo folder). evaluate.py records the count used."""
    images = load_split(data_path)["x_train"]
    if count > len(images):
        print(f"quantize.representative_samples is {count} but {data_path} has {len(images)} training images: "
              f"calibrating on all {len(images)}")
        count = len(images)
    return np.asarray(images[:count])


@reports_bad_input
def main(argv=None):
    args = parse_args(argv)
    from coralbuild.models.conversion import convert_float32, convert_int8

    labels = labels_text(class_names(args.data)) if args.labels else None  # checked before anything is written

    if args.kind == "float32":
        model = convert_float32(args.saved_model)
    else:
        settings = with_defaults("/properties/quantize", args.settings)
        images = representative_images(args.data, settings["representative_samples"])
        model = convert_int8(args.saved_model, images, tuple(args.input_range), settings["io_type"],
                             settings["dense_weights"], settings["conv_weights"])
    with atomic_output(args.output) as temporary:
        temporary.write_bytes(model)
    print(f"wrote {args.output}: {len(model)} bytes")
    if labels is not None:
        write_text(args.labels, labels)


if __name__ == "__main__":
    main()
