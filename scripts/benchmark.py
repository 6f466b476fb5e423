"""Benchmark one model's .tflite artifacts on the configured devices into a CSV of tidy rows."""

import argparse
import json
from pathlib import Path

import pandas as pd

from coralbuild.atomic import atomic_output
from coralbuild.benchmarking import time_cpu_invokes
from coralbuild.table import MEASUREMENT_COLUMNS
from coralbuild.datasets import load_split
from coralbuild.errors import reports_bad_input


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True, help="prepared split (.npz): test images are the inputs")
    parser.add_argument("--metrics", required=True, help="metrics.json of the evaluate stage")
    parser.add_argument("--tflite", nargs="+", required=True, metavar="ARTIFACT=PATH")
    parser.add_argument("--settings", type=json.loads, required=True, help="benchmark section (JSON)")
    parser.add_argument("--output", required=True, help="CSV to write")
    return parser.parse_args(argv)


@reports_bad_input
def main(argv=None):
    args = parse_args(argv)
    settings = args.settings
    images = load_split(args.data)["x_test"]
    metrics = json.loads(Path(args.metrics).read_text())["artifacts"]
    rows = []
    for named in args.tflite:
        artifact, path = named.split("=", 1)
        for device in settings["devices"]:
            timing = time_cpu_invokes(path, images, settings["threads"], settings["warmup"], settings["iterations"])
            rows.append({
                "dataset": args.dataset, "model": args.model, "artifact": artifact, "device": device,
                "status": "measured", "size_bytes": Path(path).stat().st_size,
                "accuracy": metrics[artifact]["accuracy"],
                "agreement": metrics[artifact]["agreement_with_keras"],
                "threads": settings["threads"], "warmup": settings["warmup"],
                "iterations": settings["iterations"], **timing,
            })
            print(f"{artifact} on {device}: median {timing['median_ms']:.4f} ms")
    with atomic_output(args.output) as temporary:
        pd.DataFrame(rows, columns=MEASUREMENT_COLUMNS).to_csv(temporary, index=False, float_format="%.6g")


if __name__ == "__main__":
    main()
