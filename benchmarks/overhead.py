"""Overhead of the workflow itself, measured in one go on fresh copies of the project:

- dry run of the up-to-date workflow against a dry run of a trivial two-rule Snakefile (target 1.2x);
- full run at --cores 1: wall time against the sum of its jobs' own times (target 1.15x);
- full run at --cores 2: speed-up over --cores 1;
- rerun after a change of benchmark settings alone, against the full run (target under 10%);
- a large DAG: the dry run of 20 datasets x 40 models (about 7,000 jobs, nothing run) per job,
  against a trivial three-rule workflow of about as many jobs (target 2x).

    python benchmarks/overhead.py            (default config; about 10 minutes on 2 cores)
    python benchmarks/overhead.py --tiny     (config/tiny.yaml, to try the script quickly)
    python benchmarks/overhead.py --dag-only (only the large DAG; about 1 minute)

Run it on an otherwise idle machine: it prints figures, it asserts nothing.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml
from project_copy import copy_project

TRIVIAL_SNAKEFILE = 'rule all:\n    input: "b.txt"\n\nrule b:\n    output: "b.txt"\n    shell: "touch {output}"\n'
# A chain of three rules per item: what Snakemake itself costs per job, for TRIVIAL_ITEMS * 3 + 1 jobs.
TRIVIAL_ITEMS = 2400
TRIVIAL_CHAIN = f"""rule all:
    input: expand("c/{{i}}.txt", i=range({TRIVIAL_ITEMS}))
rule a:
    output: "a/{{i}}.txt"
    shell: "touch {{output}}"
rule b:
    input: "a/{{i}}.txt"
    output: "b/{{i}}.txt"
    shell: "cp {{input}} {{output}}"
rule c:
    input: "b/{{i}}.txt"
    output: "c/{{i}}.txt"
    shell: "cp {{input}} {{output}}"
"""
LARGE_DATASETS, LARGE_MODELS = 20, 40


def snakemake(folder, *args):
    """Wall time of one Snakemake invocation in `folder` (it must succeed)."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # the jobs call `python`
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=folder, check=True, capture_output=True,
                   env={**os.environ, "PATH": path})
    return time.perf_counter() - started


def fresh_copy(parent, name):
    return copy_project(parent / name)


def sum_of_job_times(folder):
    return sum(pd.read_csv(path, sep="\t")["s"].iloc[-1] for path in (folder / "results").glob("**/benchmarks/*.tsv"))


def median_dry_run(folder, config, repeats):
    return statistics.median(snakemake(folder, "-n", "--cores", "1", *config) for _ in range(repeats))


def planned_jobs(folder, *args):
    result = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "1", *args], cwd=folder,
                            check=True, capture_output=True, text=True)
    return int(re.search(r"^total\s+(\d+)$", result.stdout + result.stderr, re.MULTILINE).group(1))


def large_dag(scratch, repeats):
    """Dry-run seconds per job of LARGE_DATASETS copies of MNIST x LARGE_MODELS CNNs, against the
    trivial chain's."""
    project = fresh_copy(scratch, "large")
    config = yaml.safe_load((project / "config/config.yaml").read_text())
    config["datasets"] = {f"d{i}": config["datasets"]["mnist"] for i in range(LARGE_DATASETS)}
    cnn = config["models"]["cnn"]
    config["models"] = {f"m{i}": {**cnn, "dense_units": [32 + i]} for i in range(LARGE_MODELS)}
    (project / "large.yaml").write_text(yaml.safe_dump(config))
    chain = scratch / "chain"
    chain.mkdir()
    (chain / "Snakefile").write_text(TRIVIAL_CHAIN)
    ours_jobs, chain_jobs = planned_jobs(project, "--configfile", "large.yaml"), planned_jobs(chain)
    ours = median_dry_run(project, ["--configfile", "large.yaml"], repeats)
    theirs = median_dry_run(chain, [], repeats)
    per_job, per_chain_job = ours / ours_jobs, theirs / chain_jobs
    print(f"large DAG ({LARGE_DATASETS} datasets x {LARGE_MODELS} models), dry run, median of {repeats}: "
          f"{ours_jobs} jobs in {ours:.1f} s = {1000 * per_job:.2f} ms a job; trivial three-rule chain: "
          f"{chain_jobs} jobs in {theirs:.1f} s = {1000 * per_chain_job:.2f} ms a job; ratio "
          f"{per_job / per_chain_job:.2f} (target <= 2)")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="use config/tiny.yaml")
    parser.add_argument("--repeats", type=int, default=7, help="dry runs timed per Snakefile")
    parser.add_argument("--dag-only", action="store_true", help="only the large DAG's dry run")
    args = parser.parse_args()
    if args.dag_only:
        with tempfile.TemporaryDirectory() as scratch:
            large_dag(Path(scratch), max(1, args.repeats // 3))
        return
    config = ["--configfile", "config/config.yaml", *(["config/tiny.yaml"] if args.tiny else [])]
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        one, two, trivial = fresh_copy(scratch, "cores1"), fresh_copy(scratch, "cores2"), scratch / "trivial"

        wall_1 = snakemake(one, "--cores", "1", *config)
        jobs_1 = sum_of_job_times(one)
        print(f"full run, --cores 1: wall {wall_1:.1f} s, sum of job times {jobs_1:.1f} s, "
              f"ratio {wall_1 / jobs_1:.3f} (target <= 1.15)")
        wall_2 = snakemake(two, "--cores", "2", *config)
        print(f"full run, --cores 2: wall {wall_2:.1f} s, speed-up over --cores 1: {wall_1 / wall_2:.2f}x")

        (one / "change.yaml").write_text("benchmark: {iterations: 1234}\n")
        rerun = snakemake(one, "--cores", "1", *config, "change.yaml")
        print(f"rerun after a benchmark-settings change: {rerun:.1f} s = {100 * rerun / wall_1:.1f}% of the "
              f"full run (target < 10%)")
        (one / "change.yaml").unlink()
        snakemake(one, "--cores", "1", *config)  # back to the measured config, up to date

        trivial.mkdir()
        (trivial / "Snakefile").write_text(TRIVIAL_SNAKEFILE)
        snakemake(trivial, "--cores", "1")
        ours, theirs = median_dry_run(one, config, args.repeats), median_dry_run(trivial, [], args.repeats)
        print(f"dry run of the up-to-date workflow, median of {args.repeats}: {ours:.2f} s; trivial two-rule "
              f"Snakefile: {theirs:.2f} s; ratio {ours / theirs:.2f} (target <= 1.2)")
        large_dag(scratch, max(1, args.repeats // 3))


if __name__ == "__main__":
    main()
