"""Print the figures of the last complete run against the targets of the config it ran.

    python benchmarks/run_figures.py        (after `make run`; `make figures` does both)

The last complete run is the newest Snakemake log (.snakemake/log/ beside results/) of a run that
built the default target: every step done and rule `all` finished. A run of some targets only,
one that failed or was interrupted, and one with nothing to do are passed over. From that run:
its wall time, the time and peak memory of each job it ran (Snakemake's benchmark files named in
its log; one a later run rewrote is left out, saying so), and per model the accuracy and sizes of
results/benchmark.csv. Its config is the config files its log names; the targets are those set
for exactly those files in TARGETS (the default config's, on MNIST), else none. Prints figures;
it asserts nothing. The workflow's own overhead (dry runs, parallel speed-up, reruns) is
benchmarks/overhead.py.
"""

import argparse
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

PROJECT = Path(__file__).resolve().parents[1]
MEMORY_LIMIT_MB = 2.5 * 1024

# The project's targets, by the config files a run was started with (as its log lists them,
# relative to the project folder). A run of any other config is compared with none: the
# figures of config/tiny.yaml mean nothing, and a photo folder's are its own.
TARGETS = {
    ("config/config.yaml",): {
        "max_int8_drop_points": 0.3,  # int8 accuracy at most this far below float32
        "max_int8_size_ratio": 0.30,  # int8 file at most this share of the float32 file
        "min_int8_accuracy": {("mnist", "cnn"): 0.985},
    },
}


@dataclass(frozen=True)
class Run:
    log: Path
    wall_time: str
    config_files: tuple  # relative to the project folder, in the order the log lists them
    benchmark_files: tuple  # of the jobs the run ran, relative to the project folder


def parse_run(log, project):
    """The run a Snakemake log describes, or None unless it built the default target to the end."""
    text = log.read_text(errors="replace")
    elapsed = re.search(r"^Elapsed time: ([\d:.]+)", text, re.MULTILINE)
    finished_all = re.search(r"^Finished jobid: \d+ \(Rule: all\)", text, re.MULTILINE)
    every_step = re.search(r"^(\d+) of \1 steps \(100%\) done", text, re.MULTILINE)
    if not (elapsed and finished_all and every_step):
        return None
    listed = re.search(r"^\s*Config file\(s\): (.*)$", text, re.MULTILINE)
    working = re.search(r"^\s*Working directory: (.*)$", text, re.MULTILINE)
    config_files = config_paths(listed.group(1) if listed else "", working.group(1) if working else str(project))
    benchmarks = tuple(dict.fromkeys(re.findall(r"^\s+benchmark: (.+)$", text, re.MULTILINE)))
    return Run(log, elapsed.group(1), config_files, benchmarks)


def config_paths(listed, working_directory):
    """The distinct config files of a log's `Config file(s):` line (a Python list of strings and
    PosixPaths), relative to the working directory where they are inside it."""
    paths = []
    for path in re.findall(r"'([^']+)'", listed):
        if os.path.isabs(path):
            relative = os.path.relpath(path, working_directory)
            path = path if relative.startswith("..") else relative
        paths.append(os.path.normpath(path))
    return tuple(dict.fromkeys(paths))


def last_complete_run(project):
    logs = sorted((project / ".snakemake" / "log").glob("*.snakemake.log"), key=lambda path: path.stat().st_mtime)
    return next((run for run in map(lambda log: parse_run(log, project), reversed(logs)) if run), None)


def job_table(run, project):
    """Per job of the run: seconds and peak memory from its benchmark file, and the files a later
    run rewrote (whose figures are no longer this run's)."""
    rows, rewritten = [], []
    ended = run.log.stat().st_mtime
    for name in run.benchmark_files:
        path = project / name
        if not path.is_file() or path.stat().st_mtime > ended:
            rewritten.append(name)
            continue
        record = pd.read_csv(path, sep="\t").iloc[-1]
        job = Path(name)
        rows.append({"job": str(job.parent.parent / job.stem), "stage": job.stem, "seconds": record["s"],
                     "max_rss_mb": record["max_rss"]})
    return pd.DataFrame(rows, columns=["job", "stage", "seconds", "max_rss_mb"]), rewritten


def print_jobs(jobs, rewritten):
    if rewritten:
        print(f"Left out: {len(rewritten)} benchmark file(s) a later run rewrote or removed: {', '.join(rewritten)}")
    if jobs.empty:
        print("No job of this run left its benchmark file")
        return
    print("Per job of the run (Snakemake benchmark files):")
    print(jobs.to_string(index=False, float_format="%.1f"))
    print("\nPer stage (sum of job seconds, largest job memory):")
    stages = jobs.groupby("stage").agg(jobs=("job", "count"), seconds=("seconds", "sum"), max_rss_mb=("max_rss_mb", "max"))
    print(stages.sort_values("seconds", ascending=False).to_string(float_format="%.1f"))
    worst = jobs.loc[jobs.max_rss_mb.idxmax()]
    verdict = "under" if worst.max_rss_mb < MEMORY_LIMIT_MB else "OVER"
    print(f"\nPeak memory of any job: {worst.max_rss_mb:.0f} MB ({worst.job}), {verdict} the {MEMORY_LIMIT_MB:.0f} MB target")
    print(f"Sum of job times: {jobs.seconds.sum():.1f} s")


def model_lines(table, metrics, targets):
    """One line per model with float32 and int8 rows: accuracies, sizes, latencies, and each
    figure against its target where the config has one. `metrics`: (dataset, model) -> metrics.json."""
    lines = []
    for (dataset, model), rows in table[table.device == "cpu"].groupby(["dataset", "model"]):
        by = rows.set_index("artifact")
        if not {"float32", "int8"} <= set(by.index) or by.loc[["float32", "int8"], "accuracy"].isna().any():
            continue
        int8, float32 = by.loc["int8"], by.loc["float32"]
        keras = metrics.get((dataset, model), {}).get("artifacts", {}).get("keras", {}).get("accuracy")
        drop = 100 * (float32.accuracy - int8.accuracy)
        ratio = int8.size_bytes / float32.size_bytes
        line = (f"  {dataset}/{model}: keras {_percent(keras)}, float32 {_percent(float32.accuracy)}, "
                f"int8 {_percent(int8.accuracy)} (balanced {_percent(int8.get('balanced_accuracy'))}); "
                f"int8 - float32 = {100 * (int8.accuracy - float32.accuracy):+.2f} points{_against(targets, 'max_int8_drop_points', drop, 'at most {} points below')}; "
                f"int8 file {int(int8.size_bytes)} B = {ratio:.3f}x float32{_against(targets, 'max_int8_size_ratio', ratio, '<= {}x')}; "
                f"median CPU latency float32 {float32.median_ms:.4f} ms, int8 {int8.median_ms:.4f} ms")
        minimum = targets.get("min_int8_accuracy", {}).get((dataset, model))
        if minimum is not None:
            line += f"; int8 accuracy {'meets' if int8.accuracy >= minimum else 'MISSES'} the target >= {minimum:.1%}"
        lines.append(line)
    return lines


def _percent(value):
    return "n/a" if value is None or value != value else f"{value:.2%}"


def _against(targets, key, value, wording):
    """' (target <wording>: met|MISSED)' where the config has the target, else nothing."""
    if key not in targets:
        return ""
    return f" (target {wording.format(targets[key])}: {'met' if value <= targets[key] else 'MISSED'})"


def print_model_figures(results, run):
    table_path = results / "benchmark.csv"
    if not table_path.is_file():
        print(f"\nNo {table_path}: the run made no final table")
        return
    if table_path.stat().st_mtime > run.log.stat().st_mtime:
        print(f"\nNote: {table_path} was rewritten after this run (by a later, partial run)")
    table = pd.read_csv(table_path)
    metrics = {(dataset, model): json.loads(path.read_text())
               for dataset, model in table[["dataset", "model"]].drop_duplicates().itertuples(index=False)
               if (path := results / dataset / model / "metrics.json").is_file()}
    targets = TARGETS.get(run.config_files, {})
    print(f"\nTargets: {'those of ' + ' + '.join(run.config_files) if targets else 'none for this config'}")
    print("Accuracy and size per model (test split):")
    print("\n".join(model_lines(table, metrics, targets)) or "  no model with a measured float32 and int8 model")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=PROJECT / "results")
    args = parser.parse_args()
    project = args.results.resolve().parent
    run = last_complete_run(project)
    if run is None:
        raise SystemExit(f"no complete run in {project / '.snakemake/log'}: run the workflow to the end first (make run)")
    print(f"Last complete run: {run.log.name}, config {' + '.join(run.config_files) or 'unknown'}, "
          f"wall time {run.wall_time}")
    print_jobs(*job_table(run, project))
    print_model_figures(args.results, run)


if __name__ == "__main__":
    main()
