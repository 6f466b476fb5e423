"""Gather every model's benchmark rows into the final table (results/benchmark.csv)."""

import argparse

import pandas as pd

from coralbuild.atomic import atomic_output
from coralbuild.table import COLUMNS
from coralbuild.errors import reports_bad_input


@reports_bad_input
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inputs", nargs="+", required=True, help="per-model benchmark CSVs")
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    table = pd.concat([pd.read_csv(path) for path in args.inputs], ignore_index=True)
    table = table[COLUMNS].sort_values(["dataset", "model", "artifact", "device"])
    with atomic_output(args.output) as temporary:
        table.to_csv(temporary, index=False, float_format="%.6g")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
