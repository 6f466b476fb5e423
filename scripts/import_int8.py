"""Take a fully int8 .tflite you bring as the model's int8 model: check it, copy its bytes, and
write labels.txt from the dataset's classes (empty without a dataset). The file you brought is
only read."""

import argparse
import shutil

from coralbuild.atomic import atomic_output, write_text
from coralbuild.data.labels import labels_text
from coralbuild.data.prepared import class_names
from coralbuild.errors import BadInput, reports_bad_input
from coralbuild.tasks import DEFAULT_TASK, TASKS


@reports_bad_input
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", required=True, help="the int8 .tflite you bring")
    parser.add_argument("--task", choices=sorted(TASKS), default=DEFAULT_TASK, help="what its outputs mean")
    parser.add_argument("--data", help="prepared dataset folder (for the class names); none: no labels")
    parser.add_argument("--output", required=True, help="the int8 model to write (a copy)")
    parser.add_argument("--labels", required=True, help="labels.txt to write: class names in index order")
    args = parser.parse_args(argv)
    from coralbuild.edgetpu.tflite_model import read_tflite
    from coralbuild.measure.inference import check_fully_integer, check_loads_in_child
    from coralbuild.measure.model_io import check_detector, check_edgetpu_activations, float_edge_tensors

    read_tflite(args.source)  # the FlatBuffer's structure, checked before native code reads it
    check_loads_in_child(args.source)
    # A classifier is fed and scored as it is; a detector or other model may keep float input and
    # output around its int8 body (Ultralytics' float-IO exports), as the compiler accepts.
    check_fully_integer(args.source, float_edge_tensors(args.source) if args.task != "classify" else ())
    check_edgetpu_activations(args.source)
    classes = class_names(args.data) if args.data else []
    labels = labels_text(classes)  # a name labels.txt cannot carry stops the job before it writes
    if args.task == "detect":
        head = check_detector(args.source)
        if classes and head["classes"] and head["classes"] != len(classes):
            raise BadInput(f"{args.source}: the detector scores {head['classes']} classes, and its dataset "
                           f"({args.data}) names {len(classes)}")
        print(f"{args.source}: detection head {head['kind']}"
              + (f", {head['classes']} classes, {head['anchors']} anchors" if head["anchors"] else ""))
    with atomic_output(args.output) as temporary:
        shutil.copyfile(args.source, temporary)
    write_text(args.labels, labels)
    checked = "fully int8" if args.task == "classify" else "int8 (float input and output allowed)"
    print(f"{args.source}: {checked}; copied to {args.output}"
          + ("" if args.data else "; no dataset, so labels.txt is empty"))


if __name__ == "__main__":
    main()
