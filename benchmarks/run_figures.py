"""Print the figures of a finished run against the project's targets.

    python benchmarks/run_figures.py        (after `make run`; `make figures` does both)

Reads results/ (Snakemake's per-job benchmark files, metrics, the final table), the newest
Snakemake log for the run's wall time, and times dry runs of this workflow against a trivial
two-rule Snakefile. Prints figures; it asserts nothing.
"""

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

PROJECT = Path(__file__).resolve().parents[1]
MEMORY_LIMIT_MB = 2.5 * 1024
TRIVIAL_SNAKEFILE = 'rule all:\n    input: "b.txt"\n\nrule b:\n    output: "b.txt"\n    shell: "touch {output}"\n'


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
              f"int8 file {int8.size_bytes} B = {int8.size_bytes / float32.size_bytes:.3f}x float32 (target <= 0.30); "
              f"median CPU latency float32 {float32.median_ms:.4f} ms, int8 {int8.median_ms:.4f} ms")
    cnn = table[(table.model == "cnn") & (table.artifact == "int8")]
    for row in cnn.itertuples():
        print(f"  CNN int8 accuracy on {row.dataset}: {row.accuracy:.2%} (target >= 98.5% on mnist)")


def time_dry_run(folder, repeats):
    durations = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1"], cwd=folder,
                       capture_output=True, check=True)
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)


def print_dry_run_overhead(repeats):
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "Snakefile").write_text(TRIVIAL_SNAKEFILE)
        subprocess.run([sys.executable, "-m", "snakemake", "--cores", "1"], cwd=folder, capture_output=True, check=True)
        trivial = time_dry_run(folder, repeats)
        workflow = time_dry_run(PROJECT, repeats)
    pandas_import = time_pandas_import(repeats)
    print(f"\nDry run, median of {repeats}: this workflow {workflow:.2f} s, trivial two-rule Snakefile "
          f"{trivial:.2f} s, ratio {workflow / trivial:.2f} (target <= 1.2)")
    print(f"  of which Snakemake's own import of pandas to hash rule params (paid by any workflow with "
          f"params while pandas is importable): {pandas_import:.2f} s; without it the ratio would be "
          f"{(workflow - pandas_import) / trivial:.2f}")


def time_pandas_import(repeats):
    durations = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import pandas"], check=True)
        durations.append(time.perf_counter() - started)
    started = time.perf_counter()
    for _ in range(repeats):
        subprocess.run([sys.executable, "-c", "pass"], check=True)
    return statistics.median(durations) - (time.perf_counter() - started) / repeats


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=PROJECT / "results")
    parser.add_argument("--repeats", type=int, default=5, help="dry runs timed per Snakefile")
    args = parser.parse_args()
    print_jobs(job_table(args.results))
    print_wall_time()
    print_model_figures(args.results)
    print_dry_run_overhead(args.repeats)


if __name__ == "__main__":
    main()
