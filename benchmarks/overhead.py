"""Overhead of the workflow itself, measured in one go on fresh copies of the project:

- dry run of the up-to-date workflow against a dry run of a trivial two-rule Snakefile (target 1.2x);
- full run at --cores 1: wall time against the sum of its jobs' own times (target 1.15x);
- full run at --cores 2: speed-up over --cores 1;
- rerun after a change of benchmark settings alone, against the full run (target under 10%).

    python benchmarks/overhead.py            (default config; about 10 minutes on 2 cores)
    python benchmarks/overhead.py --tiny     (config/tiny.yaml, to try the script quickly)

Run it on an otherwise idle machine: it prints figures, it asserts nothing.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

PROJECT = Path(__file__).resolve().parents[1]
ENTRIES = ["Snakefile", "rules", "scripts", "config", "envs", "resources", "profiles", "report"]
TRIVIAL_SNAKEFILE = 'rule all:\n    input: "b.txt"\n\nrule b:\n    output: "b.txt"\n    shell: "touch {output}"\n'


def snakemake(folder, *args):
    """Wall time of one Snakemake invocation in `folder` (it must succeed)."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # the jobs call `python`
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=folder, check=True, capture_output=True,
                   env={**os.environ, "PATH": path})
    return time.perf_counter() - started


def fresh_copy(parent, name):
    folder = parent / name
    folder.mkdir()
    for entry in ENTRIES:
        source = PROJECT / entry
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, folder / entry)
    return folder


def sum_of_job_times(folder):
    return sum(pd.read_csv(path, sep="\t")["s"].iloc[-1] for path in (folder / "results").glob("**/benchmarks/*.tsv"))


def median_dry_run(folder, config, repeats):
    return statistics.median(snakemake(folder, "-n", "--cores", "1", *config) for _ in range(repeats))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="use config/tiny.yaml")
    parser.add_argument("--repeats", type=int, default=7, help="dry runs timed per Snakefile")
    args = parser.parse_args()
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


if __name__ == "__main__":
    main()
