"""Predict, without the compiler, which ops of an int8 .tflite the Edge TPU compiler will map,
and why each other op stays on the CPU.

    python scripts/predict_edgetpu.py model_int8.tflite [--min-runtime-version 13] [--json]
"""

import argparse
import json

from coralbuild.atomic import write_text
from coralbuild.edgetpu.inspection import format_ops
from coralbuild.edgetpu.placement import predict
from coralbuild.errors import BadInput, reports_bad_input
from coralbuild.edgetpu.tflite_model import read_tflite


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="an int8 .tflite (the compiler's input)")
    parser.add_argument("--min-runtime-version", type=int, default=14,
                        help="the compiler's -m (default 14, compiler 16's own default)")
    parser.add_argument("--multiple-subgraphs", action="store_true", help="as the compiler's -a")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--output", help="also write the JSON to this file")
    parser.add_argument("--require-full-mapping", action="store_true",
                        help="exit with status 1 when not every op is predicted to run on the Edge TPU")
    return parser.parse_args(argv)


def table(prediction):
    width = max(len(op.op) for op in prediction.ops) if prediction.ops else 2
    lines = [f"{'#':>4}  {'op':<{width}}  placement  reason"]
    for op in prediction.ops:
        note = op.reason or (f"(uncertain: {op.uncertain})" if op.uncertain else "")
        lines.append(f"{op.index:>4}  {op.op:<{width}}  {op.placement:<9}  {note}".rstrip())
    lines.append(summary(prediction))
    lines += [f"blocker: {blocker}" for blocker in prediction.blockers]
    return "\n".join(lines)


def summary(prediction):
    on_cpu = f" ({format_ops(prediction.ops_on_cpu)})" if prediction.ops_cpu else ""
    return (f"predicted: {prediction.ops_edgetpu} of {len(prediction.ops)} ops on the Edge TPU, "
            f"{prediction.ops_cpu} on the CPU{on_cpu}, {prediction.segments} Edge TPU segment(s)")


@reports_bad_input
def main(argv=None):
    args = parse_args(argv)
    prediction = predict(read_tflite(args.model), args.min_runtime_version, args.multiple_subgraphs)
    print(json.dumps(prediction.as_dict(), indent=2) if args.json else table(prediction))
    if args.output:
        write_text(args.output, json.dumps(prediction.as_dict(), indent=2) + "\n")
    if args.require_full_mapping and not prediction.fully_mapped:
        raise BadInput(f"{args.model}: not predicted to map fully to the Edge TPU ({summary(prediction)})")


if __name__ == "__main__":
    main()
