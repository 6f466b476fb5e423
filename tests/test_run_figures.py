"""benchmarks/run_figures.py (`make figures`): which run it reads, and which targets it compares with."""

import os

import pandas as pd
import pytest
import run_figures

HEADER = """Assuming unrestricted shared filesystem usage.

SNAKEMAKE
=========
  Command: snakemake --cores 2 {arguments}
  Working directory: {project}
  Config file(s): {config_files}
  Config MD5: 61f87cd3d64b6076e5055e49fdccef5b

Building DAG of jobs...
"""
JOB = """[Thu Dec  3 19:37:10 2026]
localrule {rule}:
    output: results/mnist/cnn/{rule}.out
    log: results/mnist/cnn/logs/{rule}.log
    jobid: {jobid}
    benchmark: results/mnist/cnn/benchmarks/{rule}.tsv
    reason: Missing output files
[Thu Dec  3 19:37:11 2026]
Finished jobid: {jobid} (Rule: {rule})
{done} of {total} steps ({percent}%) done
"""
ALL = """[Thu Dec  3 19:37:12 2026]
localrule all:
    input: results/benchmark.csv
    jobid: 0
[Thu Dec  3 19:37:12 2026]
Finished jobid: 0 (Rule: all)
{total} of {total} steps (100%) done
"""


def write_log(project, name, config_files="['config/config.yaml']", rules=("train",), builds_all=True,
              finishes=True, arguments=""):
    """A Snakemake 9 log of a run of `rules` (and of rule `all` when `builds_all`), which stops
    before its last step unless `finishes`."""
    folder = project / ".snakemake" / "log"
    folder.mkdir(parents=True, exist_ok=True)
    total = len(rules) + builds_all
    text = HEADER.format(arguments=arguments, project=project, config_files=config_files)
    for jobid, rule in enumerate(rules, start=1):
        if not finishes and jobid == len(rules):
            text += f"Error in rule {rule}:\n"
            break
        text += JOB.format(rule=rule, jobid=jobid, done=jobid, total=total, percent=round(100 * jobid / total))
    if finishes:
        text += ALL.format(total=total) if builds_all else ""
        text += f"Complete log(s): {folder / name}\nElapsed time: 0:01:{10 + len(rules):02d}.5\n"
    path = folder / name
    path.write_text(text)
    return path


def test_a_run_of_the_default_target_is_complete_and_names_its_config_and_jobs(tmp_path):
    absolute = f"[PosixPath('{tmp_path}/config/config.yaml'), PosixPath('{tmp_path}/config/tiny.yaml'), 'config/config.yaml']"
    log = write_log(tmp_path, "a.snakemake.log", absolute, rules=("train", "evaluate"))
    run = run_figures.parse_run(log, tmp_path)
    assert run.config_files == ("config/config.yaml", "config/tiny.yaml")
    assert run.benchmark_files == ("results/mnist/cnn/benchmarks/train.tsv", "results/mnist/cnn/benchmarks/evaluate.tsv")
    assert run.wall_time == "0:01:12.5"


@pytest.mark.parametrize("partial", [{"builds_all": False, "arguments": "results/mnist/cnn/metrics.json"},
                                     {"finishes": False}])
def test_a_run_of_some_targets_or_one_that_failed_is_not_complete(tmp_path, partial):
    assert run_figures.parse_run(write_log(tmp_path, "a.snakemake.log", **partial), tmp_path) is None


def test_the_last_complete_run_is_read_past_newer_partial_ones(tmp_path):
    complete = write_log(tmp_path, "1.snakemake.log", rules=("train", "evaluate"))
    write_log(tmp_path, "2.snakemake.log", rules=("evaluate",), builds_all=False)  # a target asked for
    write_log(tmp_path, "3.snakemake.log", rules=("train",), finishes=False)  # failed
    for age, name in enumerate(["3", "2", "1"]):  # modification times: 1 oldest, 3 newest
        os.utime(tmp_path / ".snakemake/log" / f"{name}.snakemake.log", (1000 - age, 1000 - age))
    assert run_figures.last_complete_run(tmp_path).log == complete
    assert run_figures.last_complete_run(tmp_path / "elsewhere") is None


def test_jobs_are_the_run_s_own_and_a_file_a_later_run_rewrote_is_left_out(tmp_path):
    log = write_log(tmp_path, "1.snakemake.log", rules=("train", "evaluate"))
    benchmarks = tmp_path / "results/mnist/cnn/benchmarks"
    benchmarks.mkdir(parents=True)
    (benchmarks / "other_rule.tsv").write_text("s\tmax_rss\n9.0\t900\n")  # a job this run did not run
    for rule, seconds in (("train", 40.0), ("evaluate", 5.0)):
        (benchmarks / f"{rule}.tsv").write_text(f"s\tmax_rss\n{seconds}\t600\n")
    ended = log.stat().st_mtime
    os.utime(benchmarks / "train.tsv", (ended - 10, ended - 10))
    os.utime(benchmarks / "evaluate.tsv", (ended + 60, ended + 60))  # rewritten by a later run
    jobs, rewritten = run_figures.job_table(run_figures.parse_run(log, tmp_path), tmp_path)
    assert jobs.to_dict("records") == [{"job": "results/mnist/cnn/train", "stage": "train", "seconds": 40.0, "max_rss_mb": 600}]
    assert rewritten == ["results/mnist/cnn/benchmarks/evaluate.tsv"]


def model_table(int8_accuracy):
    rows = [{"dataset": "mnist", "model": "cnn", "artifact": "float32", "device": "cpu", "accuracy": 0.987,
             "balanced_accuracy": 0.986, "size_bytes": 200000, "median_ms": 0.03},
            {"dataset": "mnist", "model": "cnn", "artifact": "int8", "device": "cpu", "accuracy": int8_accuracy,
             "balanced_accuracy": 0.98, "size_bytes": 62000, "median_ms": 0.02},
            {"dataset": "mnist", "model": "cnn", "artifact": "edgetpu", "device": "usb", "accuracy": None,
             "balanced_accuracy": None, "size_bytes": None, "median_ms": None}]
    return pd.DataFrame(rows)


def test_the_default_config_is_held_to_its_targets():
    targets = run_figures.TARGETS[("config/config.yaml",)]
    metrics = {("mnist", "cnn"): {"artifacts": {"keras": {"accuracy": 0.9866}}}}
    [line] = run_figures.model_lines(model_table(0.986), metrics, targets)
    assert "keras 98.66%, float32 98.70%, int8 98.60% (balanced 98.00%)" in line
    assert "int8 - float32 = -0.10 points (target at most 0.3 points below: met)" in line
    assert "= 0.310x float32 (target <= 0.3x: MISSED)" in line
    assert line.endswith("int8 accuracy meets the target >= 98.5%")
    [line] = run_figures.model_lines(model_table(0.980), metrics, targets)
    assert "(target at most 0.3 points below: MISSED)" in line and line.endswith("MISSES the target >= 98.5%")


def test_any_other_config_is_compared_with_no_targets():
    assert run_figures.TARGETS.get(("config/config.yaml", "config/tiny.yaml"), {}) == {}
    [line] = run_figures.model_lines(model_table(0.5), {}, {})
    assert "target" not in line and "keras n/a" in line
