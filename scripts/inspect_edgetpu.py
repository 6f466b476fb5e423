"""Show what a compiled *_edgetpu.tflite runs where: Edge TPU segments, ops left on the CPU,
the runtime and compiler versions stored in it, and the parameter bytes cached on chip and
streamed from the host. Works on models compiled anywhere.

    python scripts/inspect_edgetpu.py model_int8_edgetpu.tflite [--source model_int8.tflite] [--json]
"""

import argparse
import json

from coralbuild.edgetpu.inspection import format_ops, inspect_compiled
from coralbuild.errors import reports_bad_input


def _bytes(count):
    return None if count is None else f"{count:,} B"


@reports_bad_input
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="compiled model (*_edgetpu.tflite)")
    parser.add_argument("--source", help="the model it was compiled from, to count ops mapped")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    inspection = inspect_compiled(args.model, args.source)
    if args.json:
        print(json.dumps(inspection.as_dict(), indent=2))
        return
    rows = [
        ("Edge TPU segments", inspection.edgetpu_segments),
        ("ops in compiled model", inspection.ops_total),
        ("ops left on CPU", f"{inspection.ops_cpu}  {format_ops(inspection.ops_on_cpu)}".rstrip()),
        ("min runtime version", inspection.min_runtime_version),
        ("compiler version", ", ".join(inspection.compiler_versions) or None),
        ("parameters cached", _bytes(inspection.onchip_bytes)),
        ("parameters streamed", _bytes(inspection.offchip_bytes)),
    ]
    if args.source:
        rows += [("ops in source model", inspection.source_ops), ("ops mapped", inspection.ops_mapped)]
    width = max(len(name) for name, _ in rows)
    print("\n".join(f"{name:<{width}}  {'-' if value is None else value}" for name, value in rows))


if __name__ == "__main__":
    main()
