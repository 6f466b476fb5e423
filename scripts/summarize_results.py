"""Write the summary table (results/summary.csv): per model, size, accuracy, balanced accuracy and
median latency of each artifact side by side (a row that was not measured shows its status
instead of a latency), and the dataset's warnings."""

import argparse

import pandas as pd

from coralbuild.errors import reports_bad_input
from coralbuild.reporting.summary import summarize
from coralbuild.reporting.table import read_metrics, write_table


@reports_bad_input
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--table", required=True, help="results/benchmark.csv")
    parser.add_argument("--metrics", nargs="+", required=True, help="results/<dataset>/<model>/metrics.json files")
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    summary = summarize(pd.read_csv(args.table), read_metrics(args.metrics))
    write_table(summary, args.output)
    print(summary.to_string(index=False))


if __name__ == "__main__":
    main()
