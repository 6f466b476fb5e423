"""Compare two runs: every figure of every benchmark row side by side with its change, why it
changed (from the runs' manifests), and a gate for CI.

    python scripts/compare_results.py BASE NEW                     (a readable table)
    python scripts/compare_results.py BASE NEW --markdown          (for a CI comment)
    python scripts/compare_results.py BASE NEW --json
    python scripts/compare_results.py BASE NEW --max-accuracy-drop 0.5 --max-latency-ratio 1.2

BASE and NEW are results folders (or the project folders holding them) or their benchmark.csv.
Exit status: 0, or 1 when a threshold is broken (one line per break), 2 when the runs cannot be
compared (one line naming the file).
"""

import argparse
import json
from dataclasses import fields
from pathlib import Path

from coralbuild.atomic import atomic_output, write_text
from coralbuild.errors import reports_bad_input
from coralbuild.reporting.compare.gate import Thresholds, read_thresholds, violations
from coralbuild.reporting.compare.render import as_json, flat_table, render
from coralbuild.reporting.compare.rows import compare_runs
from coralbuild.reporting.compare.runs import load_run


def threshold_options(parser):
    gate = parser.add_argument_group("gate (each also a key of --thresholds, with _ for -)")
    gate.add_argument("--thresholds", help="a YAML file of thresholds; options given here override it")
    gate.add_argument("--max-accuracy-drop", type=float, metavar="POINTS",
                      help="largest allowed drop of test accuracy, in percentage points")
    gate.add_argument("--max-latency-ratio", type=float, metavar="RATIO",
                      help="largest allowed NEW/BASE median latency, unless within the runs' noise (docs/compare.md)")
    gate.add_argument("--max-size-ratio", type=float, metavar="RATIO", help="largest allowed NEW/BASE file size")
    gate.add_argument("--no-new-cpu-ops", action="store_true", default=None,
                      help="no model may leave more ops on the CPU (compiled, else predicted)")
    gate.add_argument("--require-measured", action="store_true", default=None,
                      help="every row BASE measured must be measured in NEW")


def thresholds_from(args):
    settings = read_thresholds(args.thresholds) if args.thresholds else {}
    for field in fields(Thresholds):
        given = getattr(args, field.name)
        if given is not None:
            settings[field.name] = given
    return Thresholds(**settings)


@reports_bad_input(status=2)
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", metavar="BASE", help="the run compared against")
    parser.add_argument("new", metavar="NEW", help="the run that is checked")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="machine-readable output")
    output.add_argument("--markdown", action="store_true", help="Markdown, for a CI comment")
    parser.add_argument("--write-to", metavar="FOLDER",
                        help="also write comparison.csv, comparison.md and accuracy_vs_latency.png there")
    threshold_options(parser)
    args = parser.parse_args(argv)
    thresholds = thresholds_from(args)
    base, new = load_run(args.base, "BASE"), load_run(args.new, "NEW")
    rows = compare_runs(base, new)
    found = violations(rows, thresholds)
    if args.json:
        print(json.dumps(as_json(base, new, rows, found, thresholds), indent=2, default=str))
    else:
        print(render(base, new, rows, found, thresholds, markdown=args.markdown), end="")
    if args.write_to:
        write_files(Path(args.write_to), base, new, rows, found, thresholds)
    if found:
        raise SystemExit(1)


def write_files(folder, base, new, rows, found, thresholds):
    """The comparison's files for the report, each written whole or not at all."""
    from coralbuild.reporting import plots  # matplotlib: only when a plot is asked for

    write_text(folder / "comparison.md", render(base, new, rows, found, thresholds, markdown=True))
    with atomic_output(folder / "comparison.csv") as temporary:
        flat_table(rows).to_csv(temporary, index=False)
    with atomic_output(folder / "accuracy_vs_latency.png") as temporary:
        plots.accuracy_vs_latency(base.table, new.table, temporary)


if __name__ == "__main__":
    main()
