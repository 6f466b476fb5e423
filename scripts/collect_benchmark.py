"""Gather every model's benchmark rows, compile facts and placement prediction into the final
table (results/benchmark.csv); warn where the prediction and the compiler disagree."""

import argparse

import pandas as pd

from coralbuild.errors import reports_bad_input
from coralbuild.reporting.final_table import compile_facts, prediction_facts
from coralbuild.reporting.table import COLUMNS, compile_record_key, read_record, write_table


@reports_bad_input
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--inputs", nargs="+", required=True, help="per-model benchmark CSVs")
    parser.add_argument("--compile-reports", nargs="*", default=[], help="per-model compile folders")
    parser.add_argument("--compile-skipped", default="", help="compile status of every model when none was compiled")
    parser.add_argument("--predictions", nargs="+", required=True, help="per-model edgetpu_prediction.json files")
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    table = pd.concat([pd.read_csv(path) for path in args.inputs], ignore_index=True)
    compiled = dict(map(compile_facts, args.compile_reports))
    folders = {compile_record_key(folder): folder for folder in args.compile_reports}
    predicted = dict(prediction_facts(path, folders.get(read_record(path)[0])) for path in args.predictions)
    for (dataset, model), facts in sorted(predicted.items()):
        if facts["prediction_check"].startswith("differs"):
            print(f"warning: {dataset}/{model}: the placement prediction {facts['prediction_check']}")
    facts = [{**compiled.get((row.dataset, row.model), {"compile_status": args.compile_skipped or None}),
              **predicted.get((row.dataset, row.model), {})} for row in table.itertuples()]
    table = pd.concat([table, pd.DataFrame(facts, index=table.index)], axis=1).reindex(columns=COLUMNS)
    table = table.sort_values(["dataset", "model", "artifact", "device"])
    write_table(table, args.output)
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
