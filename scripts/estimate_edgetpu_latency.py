"""Estimate a model's Edge TPU latency for named host setups, without a device: a figure with its
error band, what bounds it, and each term, from the coefficients `make calibrate` fitted on
published latencies (docs/latency-estimate.md). An estimate, never a measurement.

    python scripts/estimate_edgetpu_latency.py MODEL.tflite|MODEL_edgetpu.tflite [--source MODEL.tflite]
                                               [--setup S ...] [--json]

A compiled model is estimated from its package (the source model beside it, MODEL.tflite, or
--source, gives the Edge TPU's multiply-accumulates); an int8 model from the placement prediction.
In the workflow (rule estimate_edgetpu) it writes the rows of the results table instead (--output):
one per setup, `status: estimated`, or `skipped: <why>` when the model has nothing to estimate.
"""

import argparse
import json
from pathlib import Path

import pandas as pd

from coralbuild.edgetpu.inspection import EDGETPU_CUSTOM_CODE
from coralbuild.edgetpu.tflite_model import read_tflite
from coralbuild.errors import BadInput, reports_bad_input
from coralbuild.layout import COMPILED_MODEL, COMPILED_SUFFIX
from coralbuild.measure.estimate.estimator import estimate
from coralbuild.measure.estimate.features import compiled_features, int8_features
from coralbuild.measure.estimate.setups import calibrated, check_setups
from coralbuild.measure.measurement import host_cpu
from coralbuild.reporting.table import (
    MEASUREMENT_COLUMNS,
    add_row_identity,
    read_compile_record,
    row_identity,
    write_table,
)
from coralbuild.statuses import ESTIMATED, is_compiled, not_measured, skipped


def source_of(compiled, source):
    """The model `compiled` was compiled from: --source, or the file beside it without `_edgetpu`."""
    if source:
        return source
    compiled = Path(compiled)
    beside = compiled.with_name(compiled.stem.removesuffix(COMPILED_SUFFIX) + ".tflite")
    if not compiled.stem.endswith(COMPILED_SUFFIX) or not beside.is_file():
        raise BadInput(f"{compiled}: a compiled model needs the model it was compiled from (--source, or {beside.name} "
                       "beside it): the Edge TPU's multiply-accumulates are read there")
    return beside


def model_features(model, source=None):
    """Features of a compiled or an int8 model, whichever `model` is (read once)."""
    read = read_tflite(model)
    if any(op.name == EDGETPU_CUSTOM_CODE for op in read.operators):
        return compiled_features(model, source_of(model, source), model=read)
    return int8_features(model, model=read)


def _print_table(estimates, features):
    print(f"basis: {features.basis}; ops on the CPU: {', '.join(features.cpu_ops) or 'none'}"
          f" (timed here: {features.cpu_ms:.3f} ms)")
    if features.cpu_untimed:
        print(f"not timed (no kernel in this interpreter; not in the estimate): {', '.join(features.cpu_untimed)}")
    for item in estimates:
        print(f"\n{item.setup}: estimated {item.median_ms:.2f} ms (band {item.low_ms:.2f}-{item.high_ms:.2f} ms), "
              f"bound by {item.bound}")
        for term, value in item.terms_ms.items():
            print(f"  {term:20} {value:9.3f} ms")


def table_rows(args, setups):
    """The results rows of the model: one per setup."""
    model, source = Path(args.model), None
    if args.compiled_folder and is_compiled(read_compile_record(args.compiled_folder)["status"]):
        model, source = Path(args.compiled_folder) / COMPILED_MODEL, Path(args.model)
    # The compiled model's size where it was made; an estimate from the int8 model has no edgetpu file.
    identity = {**row_identity(args), "artifact": "edgetpu", "size_bytes": model.stat().st_size if source else None}
    try:
        features = model_features(model, source)
    except BadInput as error:  # a float model, or nothing on the Edge TPU: a row that says so
        return [{**identity, "device": f"estimate:{setup}", "status": skipped(str(error))} for setup in setups]
    rows = []
    for item in (estimate(features, setup) for setup in setups):
        rows.append({**identity, "device": f"estimate:{item.setup}", "status": ESTIMATED, "median_ms": item.median_ms,
                     "estimate_low_ms": item.low_ms, "estimate_high_ms": item.high_ms, "estimate_basis": item.basis,
                     "estimate_bound": item.bound, "host_cpu": host_cpu(),
                     "accuracy_note": not_measured("an estimate runs no inference")})
        print(f"{item.setup}: estimated {item.median_ms:.3f} ms ({item.low_ms:.3f}-{item.high_ms:.3f}), "
              f"{item.basis}, bound by {item.bound}; terms {item.terms_ms}")
    return rows


@reports_bad_input
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="an int8 .tflite or a compiled *_edgetpu.tflite")
    parser.add_argument("--source", help="the model a compiled one was compiled from (default: beside it)")
    parser.add_argument("--setup", nargs="+", help=f"calibrated setups (default: all: {', '.join(calibrated())})")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    workflow = parser.add_argument_group("in the workflow")
    workflow.add_argument("--compiled-folder", help="the compile stage's folder: its compiled model, when it made one")
    workflow.add_argument("--output", help="the results rows to write (CSV) instead of printing")
    add_row_identity(workflow)
    args = parser.parse_args(argv)
    setups = args.setup or list(calibrated())
    check_setups(setups, "--setup")
    if args.output:
        write_table(pd.DataFrame(table_rows(args, setups)).reindex(columns=MEASUREMENT_COLUMNS), args.output)
        return
    features = model_features(args.model, args.source)
    estimates = [estimate(features, setup) for setup in setups]
    if args.json:
        print(json.dumps({"model": args.model, "status": ESTIMATED, "features": features.as_dict(),
                          "estimates": [item.as_dict() for item in estimates]}, indent=2))
    else:
        _print_table(estimates, features)


if __name__ == "__main__":
    main()
