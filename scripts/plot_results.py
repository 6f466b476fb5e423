"""Draw the report's figures from the final table and the training histories."""

import argparse
from pathlib import Path

import pandas as pd

from coralbuild.reporting import plots
from coralbuild.atomic import atomic_output
from coralbuild.errors import reports_bad_input


@reports_bad_input
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--table", required=True, help="results/benchmark.csv")
    parser.add_argument("--histories", nargs="*", default=[],
                        help="results/<dataset>/<model>/history.csv files (of trained models)")
    parser.add_argument("--latency", required=True)
    parser.add_argument("--accuracy-vs-size", required=True)
    parser.add_argument("--training-curves", required=True)
    parser.add_argument("--edgetpu-ops", required=True)
    args = parser.parse_args(argv)
    table = pd.read_csv(args.table)
    histories = {f"{Path(path).parent.parent.name}/{Path(path).parent.name}": pd.read_csv(path)
                 for path in args.histories}
    histories = {label: history for label, history in histories.items() if len(history)}  # 0 epochs: no curve
    for draw, source, output in [(plots.latency, table, args.latency),
                                 (plots.accuracy_vs_size, table, args.accuracy_vs_size),
                                 (plots.training_curves, histories, args.training_curves),
                                 (plots.edgetpu_ops, table, args.edgetpu_ops)]:
        with atomic_output(output) as temporary:
            draw(source, temporary)


if __name__ == "__main__":
    main()
