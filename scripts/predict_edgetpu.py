"""Predict, without the compiler, which ops of an int8 .tflite the Edge TPU compiler will map,
why each other op stays on the CPU (or why that is uncertain), and whether the parameters of the
mapped ops are expected to fit in the Edge TPU's on-chip cache.

    python scripts/predict_edgetpu.py model_int8.tflite [--min-runtime-version 13] [--json]
"""

import argparse
import json

from coralbuild.atomic import write_text
from coralbuild.edgetpu.inspection import format_ops
from coralbuild.edgetpu.placement import CACHE_BYTES, CACHE_SURELY_FITS, predict
from coralbuild.edgetpu.tflite_model import read_tflite
from coralbuild.errors import BadInput, reports_bad_input
from coralbuild.reporting.table import add_row_identity, row_identity


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="an int8 .tflite (the compiler's input)")
    parser.add_argument("--min-runtime-version", type=int, default=14, choices=range(10, 15), metavar="10..14",
                        help="the compiler's -m (default 14, compiler 16's own default)")
    parser.add_argument("--multiple-subgraphs", action="store_true", help="as the compiler's -a")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--output", help="also write the JSON to this file")
    add_row_identity(parser)
    parser.add_argument("--require-full-mapping", action="store_true",
                        help="exit with status 1 when not every op is predicted to run on the Edge TPU")
    parser.add_argument("--fail-on-streaming", action="store_true",
                        help="exit with status 1 when the parameters are expected to be streamed (not to fit the cache)")
    return parser.parse_args(argv)


def table(prediction):
    width = max(len(op.op) for op in prediction.ops) if prediction.ops else 2
    lines = [f"{'#':>4}  {'op':<{width}}  placement  reason"]
    for op in prediction.ops:
        lines.append(f"{op.index:>4}  {op.op:<{width}}  {op.placement:<9}  {op.reason or ''}".rstrip())
    lines.append(summary(prediction))
    lines.append(memory(prediction))
    lines += [f"blocker: {blocker}" for blocker in prediction.blockers]
    return "\n".join(lines)


def summary(prediction):
    on_cpu = f" ({format_ops(prediction.ops_on_cpu)})" if prediction.ops_cpu else ""
    uncertain = sum(prediction.ops_uncertain.values())
    undecided = f", {uncertain} uncertain ({format_ops(prediction.ops_uncertain)})" if uncertain else ""
    return (f"predicted: {prediction.ops_edgetpu} of {len(prediction.ops)} ops on the Edge TPU, "
            f"{prediction.ops_cpu} on the CPU{on_cpu}{undecided}, {prediction.segments} Edge TPU segment(s)")


def memory(prediction):
    extra = (f" (+{prediction.parameter_bytes_uncertain:,} B if the uncertain ops map)"
             if prediction.parameter_bytes_uncertain else "")
    return (f"parameters: about {prediction.parameter_bytes:,} B{extra} on the Edge TPU: "
            f"{prediction.parameter_memory} (cached up to {CACHE_SURELY_FITS:,} B, streamed above {CACHE_BYTES:,} B)")


@reports_bad_input
def main(argv=None):
    args = parse_args(argv)
    prediction = predict(read_tflite(args.model), args.min_runtime_version, args.multiple_subgraphs)
    print(json.dumps(prediction.as_dict(), indent=2) if args.json else table(prediction))
    if args.output:
        write_text(args.output, json.dumps({**row_identity(args), **prediction.as_dict()}, indent=2) + "\n")
    if args.require_full_mapping and not prediction.fully_mapped:
        raise BadInput(f"{args.model}: not predicted to map fully to the Edge TPU ({summary(prediction)})")
    if args.fail_on_streaming and prediction.parameter_memory == "streams":
        raise BadInput(f"{args.model}: parameters expected to be streamed from the host ({memory(prediction)})")


if __name__ == "__main__":
    main()
