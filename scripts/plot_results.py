"""Draw the report's figures from the final table, the models' metrics and the training histories."""

import argparse
from functools import partial

import pandas as pd

from coralbuild.atomic import atomic_output
from coralbuild.errors import reports_bad_input
from coralbuild.reporting import plots
from coralbuild.reporting.table import read_metrics


@reports_bad_input
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--table", required=True, help="results/benchmark.csv")
    parser.add_argument("--histories", nargs="*", default=[], metavar="DATASET/MODEL=PATH",
                        help="history.csv files of trained models, each named by its dataset and model")
    parser.add_argument("--metrics", nargs="+", required=True, help="results/<dataset>/<model>/metrics.json files")
    parser.add_argument("--latency", required=True)
    parser.add_argument("--accuracy-vs-size", required=True)
    parser.add_argument("--training-curves", required=True)
    parser.add_argument("--edgetpu-ops", required=True)
    parser.add_argument("--per-class-recall", required=True)
    parser.add_argument("--confusion-matrices", nargs="+", required=True,
                        help="one figure per --metrics file, in the same order: its int8 model's confusion matrix")
    args = parser.parse_args(argv)
    if len(args.confusion_matrices) != len(args.metrics):
        parser.error(f"{len(args.metrics)} --metrics files but {len(args.confusion_matrices)} --confusion-matrices")
    table = pd.read_csv(args.table)
    histories = {label: pd.read_csv(path) for label, path in (named.split("=", 1) for named in args.histories)}
    histories = {label: history for label, history in histories.items() if len(history)}  # 0 epochs: no curve
    metrics = read_metrics(args.metrics)
    keys = list(metrics)  # in the order of --metrics, as --confusion-matrices
    figures = [(plots.latency, table, args.latency),
               (plots.accuracy_vs_size, table, args.accuracy_vs_size),
               (plots.training_curves, histories, args.training_curves),
               (plots.edgetpu_ops, table, args.edgetpu_ops),
               # Models scored on a dataset's classes (not a detector measured alone).
               (plots.per_class_recall, {key: figures for key, figures in metrics.items() if figures["classes"]},
                args.per_class_recall)]
    for key, output in zip(keys, args.confusion_matrices, strict=True):
        figures.append((partial(plots.confusion_matrix, dataset=key[0], model=key[1]), metrics[key], output))
    for draw, source, output in figures:
        with atomic_output(output) as temporary:
            draw(source, path=temporary)


if __name__ == "__main__":
    main()
