"""Benchmark one model's artifacts on devices into tidy CSV rows, each measured in a child process.

CPU rows take accuracy and balanced accuracy from the evaluate stage (agreement with Keras); Edge
TPU rows measure the compiled model's on the device, and its agreement with the int8 model on the
CPU; its per-class metrics and confusion matrix go to --class-metrics.
"""

import argparse
import json
from pathlib import Path

import pandas as pd

from coralbuild.atomic import write_text
from coralbuild.data.prepared import class_names, load_info
from coralbuild.errors import BadInput, reports_bad_input
from coralbuild.layout import COMPILED_MODEL
from coralbuild.measure.measurement import measure_in_child
from coralbuild.measure.targets import target_of
from coralbuild.models.input_range import UNIT_RANGE
from coralbuild.reporting.table import MEASUREMENT_COLUMNS, read_compile_record, write_table
from coralbuild.statuses import is_compiled, is_measured, not_measured, reason, skipped
from coralbuild.tasks import DEFAULT_TASK

# Why a model measured without a dataset has no accuracy (its outputs are not scored).
NO_DATASET = "no dataset to score the model's outputs on"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", help="prepared dataset folder: its test images are the inputs (none: seeded "
                        "inputs of the model's own shapes and types, and no accuracy)")
    parser.add_argument("--devices", nargs="+", required=True, help="cpu, or Edge TPU devices (usb, usb:0, pci:0, :0)")
    parser.add_argument("--settings", type=json.loads, required=True, help="benchmark section (JSON)")
    parser.add_argument("--input-range", type=float, nargs=2, default=UNIT_RANGE, metavar=("LOW", "HIGH"),
                        help="the float pixel range the model takes (float models; int8 ones take raw pixels)")
    parser.add_argument("--output", required=True, help="CSV to write")
    cpu = parser.add_argument_group("CPU artifacts")
    cpu.add_argument("--tflite", nargs="*", default=[], metavar="ARTIFACT=PATH")
    cpu.add_argument("--metrics", help="metrics.json of the evaluate stage (accuracy of CPU artifacts)")
    edgetpu = parser.add_argument_group("the compiled model")
    edgetpu.add_argument("--edgetpu-folder", help="the compile stage's folder")
    edgetpu.add_argument("--no-compiled-model", help="why there is no compile folder")
    edgetpu.add_argument("--reference", help="the int8 model, run on the CPU for the agreement")
    edgetpu.add_argument("--class-metrics", help="JSON to write: the compiled model's per-class metrics per device")
    return parser.parse_args(argv)


def compiled_model(args):
    """(path of the compiled model, None) or (None, why there is none)."""
    if args.edgetpu_folder:
        status = read_compile_record(args.edgetpu_folder)["status"]
        if is_compiled(status):
            return Path(args.edgetpu_folder) / COMPILED_MODEL, None
        return None, f"no compiled model (compile {status})"
    return None, f"no compiled model (compile {args.no_compiled_model})"


def cpu_row(args, metrics, artifact, path):
    row = measure_in_child({"model": path, "device": "cpu", "data": args.images, "input_range": args.input_range,
                            **run_settings(args)},
                           args.settings["timeout_s"])
    evaluated = metrics.get(artifact, {})
    if is_measured(row["status"]) and evaluated.get("not_evaluated"):
        row.update(accuracy_note=not_measured(evaluated["not_evaluated"]))
    if is_measured(row["status"]) and evaluated.get("map50") is not None:  # a detector on its dataset
        row.update(map50=evaluated["map50"], map50_95=evaluated["map50_95"])
    if is_measured(row["status"]) and evaluated.get("accuracy") is not None:
        agreement = evaluated.get("agreement_with_keras")
        row.update(accuracy=evaluated["accuracy"], balanced_accuracy=evaluated.get("balanced_accuracy"),
                   agreement=agreement, agreement_reference="keras" if agreement is not None else None)
    return row


def edgetpu_row(args, path, device):
    request = {"model": str(path), "device": device, "data": args.images, "detections_on": args.detections_on,
               "reference": args.reference, "input_range": args.input_range, **run_settings(args)}
    row = measure_in_child(request, args.settings["timeout_s"])
    if is_measured(row["status"]) and not args.data:
        row.update(accuracy_note=not_measured(NO_DATASET))
    if row.get("missing") and args.settings["require_device"]:
        raise BadInput(f"{reason(row['status'])} (benchmark.require_device is true)")
    return row


def run_settings(args):
    return {key: args.settings[key] for key in ("threads", "warmup", "iterations")}


@reports_bad_input
def main(argv=None):
    args = parse_args(argv)
    # A classification split's test images feed the measurements. A detector's split is scored
    # for its mAP: on the CPU by the evaluate stage, on an Edge TPU here. Timing without
    # classification images: seeded inputs of the model's own shapes and types.
    task = load_info(args.data).get("task", DEFAULT_TASK) if args.data else None
    args.images = args.data if task == DEFAULT_TASK else None
    args.detections_on = args.data if task == "detect" else None
    rows = []
    identity = {"dataset": args.dataset, "model": args.model}
    metrics = json.loads(Path(args.metrics).read_text())["artifacts"] if args.metrics else {}
    for named in args.tflite:
        artifact, path = named.split("=", 1)
        rows.append({**identity, "artifact": artifact, "device": "cpu", "size_bytes": Path(path).stat().st_size,
                     **cpu_row(args, metrics, artifact, path)})
    edgetpu_devices = [device for device in args.devices if target_of(device).NEEDS_COMPILE]
    class_metrics = {}  # device -> the compiled model's metrics there, or why there are none
    if edgetpu_devices and (args.edgetpu_folder or args.no_compiled_model):
        path, missing = compiled_model(args)
        for device in edgetpu_devices:
            row = {"status": skipped(missing)} if path is None else edgetpu_row(args, path, device)
            class_metrics[device] = row.pop("class_metrics", None) or {"status": row["status"]}
            size = path.stat().st_size if path is not None else None
            rows.append({**identity, "artifact": "edgetpu", "device": device, "size_bytes": size, **row})
    for row in rows:
        measured = is_measured(row["status"])
        row.update({key: value if measured else None for key, value in run_settings(args).items()})
        print(f"{row['artifact']} on {row['device']}: {row['status']}"
              + (f", median {row['median_ms']:.4f} ms" if is_measured(row["status"]) else ""))
    write_table(pd.DataFrame(rows).reindex(columns=MEASUREMENT_COLUMNS), args.output)
    if args.class_metrics:
        per_device = {"classes": class_names(args.data) if args.data else [], "devices": class_metrics}
        write_text(args.class_metrics, json.dumps(per_device, indent=2) + "\n")


if __name__ == "__main__":
    main()
