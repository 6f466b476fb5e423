"""Print the figures of a finished run against the project's targets.

    python benchmarks/run_figures.py        (after `make run`; `make figures` does both)

Reads results/ (Snakemake's per-job benchmark files, metrics, the final table) and the newest
Snakemake log for the run's wall time. Prints figures; it asserts nothing. The workflow's own
overhead (dry runs, parallel speed-up, reruns) is benchmarks/overhead.py.
"""

import argparse
import json
import re
from pathlib import Path

import pandas as pd

PROJECT = Path(__file__).resolve().parents[1]
MEMORY_LIMIT_MB = 2.5 * 1024


def job_table(results):
    rows = []
    for path in sorted(results.glob("**/benchmarks/*.tsv")):
        record = pd.read_csv(path, sep="\t").iloc[-1]
        rows.append({"job": str(path.relative_to(results).parent.parent / path.stem),
                     "stage": path.stem, "seconds": record["s"], "max_rss_mb": record["max_rss"]})
    return pd.DataFrame(rows)


def print_jobs(jobs):
    print("Per job (Snakemake benchmark files):")
    print(jobs.to_string(index=False, float_format="%.1f"))
    print("\nPer stage (sum of job seconds, largest job memory):")
    stages = jobs.groupby("stage").agg(jobs=("job", "count"), seconds=("seconds", "sum"), max_rss_mb=("max_rss_mb", "max"))
    print(stages.sort_values("seconds", ascending=False).to_string(float_format="%.1f"))
    worst = jobs.loc[jobs.max_rss_mb.idxmax()]
    verdict = "under" if worst.max_rss_mb < MEMORY_LIMIT_MB else "OVER"
    print(f"\nPeak memory of any job: {worst.max_rss_mb:.0f} MB ({worst.job}), {verdict} the {MEMORY_LIMIT_MB:.0f} MB target")
    print(f"Sum of job times: {jobs.seconds.sum():.1f} s")


def print_wall_time():
    logs = sorted((PROJECT / ".snakemake" / "log").glob("*.snakemake.log"), key=lambda p: p.stat().st_mtime)
    for log in reversed(logs):
        text = log.read_text(errors="replace")
        match = re.search(r"Elapsed time: ([\d:.]+)", text)
        if match and re.search(r"(\d+) of \1 steps \(100%\) done", text):
            print(f"Wall time of the last complete run ({log.name}): {match.group(1)}")
            return
    print("Wall time: no complete run found in .snakemake/log")


def print_model_figures(results):
    table = pd.read_csv(results / "benchmark.csv")
    print("\nAccuracy and size per model (test split):")
    for (dataset, model), rows in table.groupby(["dataset", "model"]):
        by = rows.set_index("artifact")
        if not {"float32", "int8"} <= set(by.index):
            continue
        int8, float32 = by.loc["int8"], by.loc["float32"]
        keras = json.loads((results / dataset / model / "metrics.json").read_text())["artifacts"]["keras"]["accuracy"]
        print(f"  {dataset}/{model}: keras {keras:.2%}, float32 {float32.accuracy:.2%}, int8 {int8.accuracy:.2%} "
              f"(int8 - float32 = {100 * (int8.accuracy - float32.accuracy):+.2f} points, target within 0.3); "
              f"int8 file {int(int8.size_bytes)} B = {int8.size_bytes / float32.size_bytes:.3f}x float32 (target <= 0.30); "
              f"median CPU latency float32 {float32.median_ms:.4f} ms, int8 {int8.median_ms:.4f} ms")
    cnn = table[(table.model == "cnn") & (table.artifact == "int8")]
    for row in cnn.itertuples():
        print(f"  CNN int8 accuracy on {row.dataset}: {row.accuracy:.2%} (target >= 98.5% on mnist)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=PROJECT / "results")
    args = parser.parse_args()
    print_jobs(job_table(args.results))
    print_wall_time()
    print_model_figures(args.results)


if __name__ == "__main__":
    main()
