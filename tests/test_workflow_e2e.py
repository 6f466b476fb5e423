"""The workflow end to end on the tiny config, in a temporary copy of the project."""

import base64
import gzip
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest
import yaml

from conftest import (
    MNIST,
    PROJECT,
    TINY,
    compared_artifacts,
    copy_project,
    environment,
    make_stand_in,
    run_script,
    skip_if_a_real_compiler_is_installed,
)
from conftest import run_snakemake as snakemake
from coralbuild.reporting.table import COLUMNS

PER_MODEL_JOBS = ["train", "export_saved_model", "convert_float32", "quantize_int8", "predict_edgetpu", "evaluate",
                  "benchmark_cpu", "benchmark_edgetpu", "estimate_edgetpu"]
FINAL_JOBS = {"benchmark_table": 1, "summary_table": 1, "plot_results": 1, "manifest": 1, "all": 1}


def planned_jobs(project, *args, **options):
    """Rule -> job count of a dry run (empty when nothing is to be done)."""
    return jobs_planned_by(snakemake(project, "-n", "--cores", "2", *TINY, *args, **options))


def jobs_planned_by(result):
    """Rule -> job count of a finished dry run (empty when nothing is to be done)."""
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    if "Nothing to be done" in output:
        return {}
    table = output.split("Job stats:")[1].split("total")[0]
    return {rule: int(count) for rule, count in re.findall(r"^(\w+)\s+(\d+)$", table, re.MULTILINE)}


def downstream(per_model_from, models=("cnn", "mlp")):
    """Jobs a change entering at rule `per_model_from` reruns, for the given models."""
    jobs = {rule: len(models) for rule in PER_MODEL_JOBS[PER_MODEL_JOBS.index(per_model_from):]}
    return {**jobs, **FINAL_JOBS}


def test_every_artifact_is_made(tiny_run):
    assert (tiny_run / "results/mnist/data/x_train.npy").is_file()
    for model in ("cnn", "mlp"):
        folder = tiny_run / "results/mnist" / model
        for name in ("model.keras", "history.csv", "model_float32.tflite", "model_int8.tflite", "labels.txt",
                     "metrics.json", "benchmark_cpu.csv", "benchmark_edgetpu.csv", "saved_model/saved_model.pb"):
            assert (folder / name).is_file(), name
        assert len(pd.read_csv(folder / "history.csv")) == 1  # one epoch
        assert (folder / "labels.txt").read_text().splitlines() == [f"{digit} {digit}" for digit in range(10)]
        assert (folder / "model_int8.tflite").stat().st_size < 0.3 * (folder / "model_float32.tflite").stat().st_size
        for rule in PER_MODEL_JOBS:
            assert (folder / "logs" / f"{rule}.log").is_file()
            assert (folder / "benchmarks" / f"{rule}.tsv").is_file()
    assert (tiny_run / "results/summary.csv").is_file()
    for plot in ("latency", "accuracy_vs_size", "training_curves", "edgetpu_ops"):
        assert (tiny_run / f"results/plots/{plot}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tiny_run.glob("results/**/.*tmp-*")), "temporary files left behind"


def test_benchmark_table_holds_real_measurements(tiny_run):
    skip_if_a_real_compiler_is_installed()
    table = pd.read_csv(tiny_run / "results/benchmark.csv")
    assert list(table.columns) == COLUMNS
    assert sorted(zip(table.model, table.artifact, table.device, strict=True)) == [
        (m, a, d) for m in ("cnn", "mlp")
        for a, d in [("edgetpu", "estimate:usb3_desktop"), ("edgetpu", "usb"), ("float32", "cpu"), ("int8", "cpu")]]
    cpu, edgetpu = table[table.device == "cpu"], table[table.device == "usb"]
    # Without a device, the Edge TPU latency estimated from the int8 model, labelled as such.
    estimated = table[table.device == "estimate:usb3_desktop"]
    assert set(estimated.status) == {"estimated"} and (estimated.median_ms > 0).all()
    assert set(estimated.estimate_basis) == {"int8 model and placement prediction"}
    assert (estimated.estimate_low_ms <= estimated.median_ms).all() and (estimated.median_ms <= estimated.estimate_high_ms).all()
    assert set(cpu.status) == {"measured"} and set(cpu.agreement_reference) == {"keras"}
    assert set(edgetpu.status) == {"skipped: no compiled model (compile skipped: no edgetpu_compiler on PATH and no "
                                   "compile.container_image configured)"}
    assert edgetpu[["median_ms", "accuracy", "load_ms", "size_bytes"]].isna().all().all()
    assert set(cpu.iterations) == {50} and set(cpu.warmup) == {5} and set(cpu.threads) == {1}
    for row in cpu.itertuples():
        folder = tiny_run / "results" / row.dataset / row.model
        assert row.size_bytes == (folder / f"model_{row.artifact}.tflite").stat().st_size
        metrics = json.loads((folder / "metrics.json").read_text())["artifacts"][row.artifact]
        assert row.accuracy == pytest.approx(metrics["accuracy"]) and 0.1 < row.accuracy <= 1
        assert row.agreement == pytest.approx(metrics["agreement_with_keras"])
        assert 0 < row.min_ms <= row.median_ms <= row.p90_ms <= row.p99_ms <= row.max_ms
        assert row.first_invoke_ms > 0 and row.load_ms > 0 and row.std_ms >= 0
        assert row.throughput_per_s == pytest.approx(1000 / row.mean_ms, rel=1e-3)


def test_second_dry_run_has_nothing_to_do(tiny_run):
    assert planned_jobs(tiny_run) == {}


def run_killed_when(project, pattern, *args):
    """Start Snakemake with `args` (the tiny run by default) in a process group of its own and SIGKILL
    the whole group (Snakemake and every job) as soon as a path matching `pattern` exists."""
    process = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "2", *(args or TINY)], cwd=project,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment(),
                               start_new_session=True)
    deadline = time.monotonic() + 600
    while not list(project.glob(pattern)) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, f"the run ended before {pattern} appeared"
    assert snakemake(project, "--unlock", *TINY).returncode == 0  # the killed Snakemake left its lock


# Each kill lands while a job is writing its output: when the temporary beside it exists (the
# prepared images being written, the Keras archive being saved, the SavedModel being exported).
KILLED_WHILE_WRITING = [("prepare_dataset", "results/mnist", "data"), ("train", "results/mnist/cnn", "model.keras"),
                        ("export_saved_model", "results/mnist/cnn", "saved_model")]


def test_a_run_killed_while_writing_outputs_completes_with_identical_artifacts(tiny_run, tmp_path_factory):
    """Also the check that two clean runs make byte-identical artifacts (no test of its own: a
    second whole run): this one starts from an empty copy of the project, only kills interrupt
    it, and compared_artifacts fails on any file whose bytes differ from the tiny run's."""
    project = copy_project(tmp_path_factory.mktemp("killed"))
    for job, folder, output in KILLED_WHILE_WRITING:
        run_killed_when(project, f"{folder}/.{output}.tmp-*")
        assert list((project / folder).glob(f".{output}.tmp-*")), f"{job} was not killed while writing"
        assert not (project / folder / output).exists(), f"{job} left an output though killed while writing it"
        assert job in planned_jobs(project)
    result = snakemake(project, "--cores", "2", *TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    assert {"results/mnist/data/x_train.npy", "results/mnist/data/dataset.json", "results/mnist/cnn/model.keras",
            "results/mnist/mlp/saved_model/saved_model.pb", "results/mnist/mlp/saved_model/variables/variables.index",
            "results/mnist/cnn/model_int8.tflite"} <= compared_artifacts(tiny_run, project)
    # The next writer of each output removed what the killed one left.
    assert not list(project.glob("results/**/.*tmp-*")) and not list(project.glob("results/**/train_state.npz"))


def test_the_tree_verifies_against_its_manifest_and_names_a_changed_file(tiny_run):
    manifest = tiny_run / "results/manifest.json"
    rules = {a["path"]: a["rule"] for a in json.loads(manifest.read_text())["artifacts"]}
    assert rules["results/mnist/cnn/model_int8.tflite"] == "quantize_int8"
    assert rules["results/mnist/cnn/saved_model/variables/variables.index"] == "export_saved_model"
    assert run_script("verify_manifest.py", manifest, cwd=tiny_run).returncode == 0
    history = tiny_run / "results/mnist/cnn/history.csv"
    original, stat = history.read_bytes(), history.stat()
    history.write_bytes(original + b"\n")
    try:
        result = run_script("verify_manifest.py", manifest, cwd=tiny_run)
        assert result.returncode == 1 and "changed: results/mnist/cnn/history.csv (made by rule train)" in result.stdout
    finally:
        history.write_bytes(original)
        os.utime(history, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_touching_files_without_changing_them_reruns_nothing(tiny_run):
    for path in [*tiny_run.glob("scripts/**/*.py"), *tiny_run.glob("config/*.yaml"),
                 *tiny_run.glob("resources/datasets/mnist/*.gz")]:
        path.touch()
    assert planned_jobs(tiny_run) == {}


CONFIG_CHANGES = {
    # The estimate does not read the invoke counts: it does not rerun.
    "benchmark: {iterations: 60}": {"benchmark_cpu": 2, "benchmark_edgetpu": 2, **FINAL_JOBS},
    "quantize: {representative_samples: 50}": downstream("quantize_int8"),
    "train: {epochs: 2}": downstream("train"),
    "models: {cnn: {train: {epochs: 2}}}": downstream("train", models=("cnn",)),
    "datasets: {mnist: {validation_size: 400}}": downstream("train") | {"prepare_dataset": 1},
    "models: {mlp: {dropout: 0.4}}": downstream("train", models=("mlp",)),
    # No compiler here, so no compile job: only the manifest, which records the config's hash.
    "compile: {timeout_s: 99}": {"manifest": 1, "all": 1},
    "compile: {min_runtime_version: 14}": {"predict_edgetpu": 2, **FINAL_JOBS},
    "predict: {require_full_mapping: true}": {"predict_edgetpu": 2, **FINAL_JOBS},
}


@pytest.fixture(scope="module")
def dry_runs_with_config_changes(tiny_run):
    """Change -> the tiny run's dry run with that change of CONFIG_CHANGES (a file of its own),
    the dry runs all at once: each is mostly Snakemake's start-up, on one core."""
    for number, change in enumerate(CONFIG_CHANGES):
        (tiny_run / f"change-{number}.yaml").write_text(change)
    with ThreadPoolExecutor(len(CONFIG_CHANGES)) as pool:
        dry_runs = pool.map(lambda number: snakemake(tiny_run, "-n", "--cores", "2", *TINY, f"change-{number}.yaml"),
                            range(len(CONFIG_CHANGES)))
        return dict(zip(CONFIG_CHANGES, dry_runs, strict=True))


@pytest.mark.parametrize("change", CONFIG_CHANGES)
def test_a_config_change_reruns_exactly_what_it_affects(dry_runs_with_config_changes, change):
    assert jobs_planned_by(dry_runs_with_config_changes[change]) == CONFIG_CHANGES[change]


# Each edit rewrites the digest of each script that imports the file (rule code_digest): the latency
# statistics are imported by the benchmark and by the estimate (which times the ops on the CPU).
@pytest.mark.parametrize("code_file, expected", [
    ("scripts/convert_tflite.py", {"code_digest": 1, **downstream("convert_float32")}),
    ("scripts/coralbuild/measure/latency.py", {"code_digest": 2, **downstream("benchmark_cpu")}),
    ("scripts/coralbuild/reporting/plots.py", {"code_digest": 1, "plot_results": 1, "manifest": 1, "all": 1}),
])
def test_a_code_edit_reruns_the_rules_that_run_it(tiny_run, code_file, expected):
    path = tiny_run / code_file
    original, stat = path.read_text(), path.stat()
    path.write_text(original + "\n# edited\n")
    try:
        assert planned_jobs(tiny_run) == expected
    finally:
        path.write_text(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert planned_jobs(tiny_run) == {}


def test_datasets_from_a_url_are_downloaded_verified_and_run_side_by_side(project_copy):
    handler = partial(SimpleHTTPRequestHandler, directory=str(MNIST))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        default = yaml.safe_load((PROJECT / "config/config.yaml").read_text())["datasets"]["mnist"]
        download_sha256 = {
            part: hashlib.sha256((MNIST / name).read_bytes()).hexdigest()
            for part, name in [("train_images", "train-images-idx3-ubyte.gz"), ("train_labels", "train-labels-idx1-ubyte.gz"),
                               ("test_images", "t10k-images-idx3-ubyte.gz"), ("test_labels", "t10k-labels-idx1-ubyte.gz")]
        }
        served = {"url": f"http://127.0.0.1:{server.server_port}/", "sha256": default["sha256"],
                  "download_sha256": download_sha256, "validation_size": 500, "seed": 0, "max_train_size": 2000,
                  "max_test_size": 100}
        (project_copy / "two.yaml").write_text(yaml.safe_dump({"datasets": {"served": served}}))
        assert planned_jobs(project_copy, "two.yaml")["prepare_dataset"] == 2  # mnist and served
        result = snakemake(project_copy, "results/served/data", "--cores", "2", *TINY, "two.yaml")
        assert result.returncode == 0, result.stderr[-3000:]
        assert len(list((project_copy / "results/served/downloads").glob("*.gz"))) == 4
        assert "100%" in (project_copy / "results/served/logs/download_train-images-idx3-ubyte.gz.log").read_text()

        download_sha256["test_labels"] = "0" * 64
        (project_copy / "two.yaml").write_text(yaml.safe_dump({"datasets": {"bad": {**served, "download_sha256": download_sha256}}}))
        result = snakemake(project_copy, "results/bad/data", "--cores", "2", *TINY, "two.yaml")
        assert result.returncode != 0
        assert "t10k-labels-idx1-ubyte.gz: downloaded file has sha256" in result.stdout + result.stderr
        assert not (project_copy / "results/bad/downloads/t10k-labels-idx1-ubyte.gz").exists()
        assert not (project_copy / "results/bad/data").exists()
    finally:
        server.shutdown()


def test_a_corrupt_dataset_file_stops_the_run_naming_it(project_copy):
    labels = project_copy / "resources/datasets/mnist/train-labels-idx1-ubyte.gz"
    labels.write_bytes(labels.read_bytes()[:10000])
    result = snakemake(project_copy, "results/mnist/data", "--cores", "1", *TINY)
    assert result.returncode != 0
    log = (project_copy / "results/mnist/logs/prepare_dataset.log").read_text().strip().splitlines()
    assert re.match(r"error: .*train-labels-idx1-ubyte\.gz: truncated or corrupt gzip", log[-1])
    assert log[-1] in result.stdout + result.stderr  # shown to the user (show-failed-logs)
    assert not (project_copy / "results/mnist/data").exists()


# The compile stage in the workflow: without a compiler, and with the STAND-IN edgetpu_compiler
# of tests/stand_in (not Coral's compiler) on PATH.

NO_COMPILER = "skipped: no edgetpu_compiler on PATH and no compile.container_image configured"


def compile_statuses(project):
    table = pd.read_csv(project / "results/benchmark.csv")
    return dict(zip(table.model + "/" + table.artifact, table.compile_status, strict=True))


def test_without_a_compiler_the_table_says_why(tiny_run):
    skip_if_a_real_compiler_is_installed()
    assert set(compile_statuses(tiny_run).values()) == {NO_COMPILER}
    table = pd.read_csv(tiny_run / "results/benchmark.csv")
    assert table[["ops_total", "ops_edgetpu", "edgetpu_segments", "compiler_version"]].isna().all().all()
    dry_run = snakemake(tiny_run, "-n", "--cores", "1", *TINY)
    assert (dry_run.stdout + dry_run.stderr).count("Edge TPU compile left out: no edgetpu_compiler on PATH") == 1


@pytest.fixture(scope="module")
def compiled_run(tiny_run, tmp_path_factory):
    """The tiny run copied (results included) and continued with the stand-in compiler on PATH."""
    project = tmp_path_factory.mktemp("compiled") / "project"
    shutil.copytree(tiny_run, project, symlinks=True)
    stand_in = make_stand_in(tmp_path_factory.mktemp("stand-in-bin"))
    planned = planned_jobs(project, path_first=[stand_in])
    result = snakemake(project, "--cores", "2", *TINY, path_first=[stand_in])
    assert result.returncode == 0, result.stderr[-3000:]
    return project, stand_in, planned


@pytest.mark.parametrize("devices, expected", [("[usb]", {"benchmark_edgetpu": 2}), ("[cpu]", {"benchmark_cpu": 2}),
                                               ("[cpu, usb]", {"benchmark_cpu": 2, "benchmark_edgetpu": 2})])
def test_benchmark_devices_choose_the_benchmark_jobs(project_copy, devices, expected):
    (project_copy / "devices.yaml").write_text(f"benchmark: {{devices: {devices}}}")
    planned = planned_jobs(project_copy, "devices.yaml")
    assert {rule: count for rule, count in planned.items() if rule.startswith("benchmark_")} == {**expected, "benchmark_table": 1}


def test_a_compiler_adds_only_the_compile_jobs(compiled_run):
    _, _, planned = compiled_run
    # And the digest of the compile script, which no rule ran before.
    # The estimate reads the compiled package once there is one.
    assert planned == {"code_digest": 1, "compile_edgetpu": 2, "benchmark_edgetpu": 2, "estimate_edgetpu": 2, **FINAL_JOBS}


def test_compiled_models_fill_the_compile_columns(compiled_run):
    project, _, _ = compiled_run
    table = pd.read_csv(project / "results/benchmark.csv")
    assert set(table.compile_status) == {"compiled"}
    assert set(table.compiler_version) == {"16.0.384591198"} and set(table.min_runtime_version) == {13}
    assert (table.ops_edgetpu == table.ops_total).all() and set(table.ops_cpu) == {0}
    assert set(table.edgetpu_segments) == {1} and (table.onchip_bytes > 0).all()
    # Each outcome of the check has its own test (test_prediction_check.py); here, a real run's.
    assert set(table.prediction_check) == {"matches the compiler"}
    for model in ("cnn", "mlp"):
        assert (project / f"results/mnist/{model}/edgetpu/model_int8_edgetpu.tflite").is_file()
        assert "compile status: compiled" in (project / f"results/mnist/{model}/logs/compile_edgetpu.log").read_text()


def test_a_failed_compile_is_a_table_row_and_the_run_completes(compiled_run, tmp_path):
    project, stand_in, _ = compiled_run
    (project / "change.yaml").write_text("compile: {min_runtime_version: 14}")
    result = snakemake(project, "--cores", "2", *TINY, "change.yaml", path_first=[stand_in], STAND_IN_MODE="not_quantized")
    assert result.returncode == 0, result.stderr[-3000:]
    statuses = set(compile_statuses(project).values())
    assert len(statuses) == 1 and statuses.pop().startswith("failed: the compiler says 'Model not quantized'")
    assert not (project / "results/mnist/cnn/edgetpu/model_int8_edgetpu.tflite").exists()


def test_compile_off_plans_no_compile_job(compiled_run):
    project, stand_in, _ = compiled_run
    (project / "off.yaml").write_text("compile: {compiler: 'off'}")
    planned = planned_jobs(project, "off.yaml", path_first=[stand_in])
    assert "compile_edgetpu" not in planned and planned.get("benchmark_table") == 1


def test_a_run_from_another_directory_finds_the_workflow_s_files(tiny_run, tmp_path):
    """snakemake -s <project>/Snakefile -d <elsewhere>, started from a third folder: scripts,
    config and the vendored MNIST come from the workflow, results go to <elsewhere>."""
    elsewhere, started_in = tmp_path / "elsewhere", tmp_path / "somewhere"
    elsewhere.mkdir()
    started_in.mkdir()
    target = "results/mnist/mlp/model_int8.tflite"
    configs = [str(tiny_run / name) for name in TINY[1:]]
    result = snakemake(started_in, "-s", tiny_run / "Snakefile", "-d", elsewhere, "--cores", "2",
                       "--configfile", *configs, "--", target)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (elsewhere / target).read_bytes() == (tiny_run / target).read_bytes()
    assert not (started_in / "results").exists() and not list(started_in.iterdir())
    dry = snakemake(started_in, "-s", tiny_run / "Snakefile", "-d", elsewhere, "-n", "--cores", "1")
    assert dry.returncode == 0 and "prepare_dataset" in dry.stdout  # the default config, found in the workflow


def test_a_cluster_job_plans_with_the_compiler_the_dag_host_found(project_copy):
    """Snakemake parses the Snakefile again in each cluster job (`--mode remote`); there the DAG
    host's decision, passed in the environment, counts, not the node's own search."""
    skip_if_a_real_compiler_is_installed()
    (project_copy / "required.yaml").write_text("compile: {compiler: required}")
    found_on_host = json.dumps({"executable": "/opt/coral/edgetpu_compiler", "image": None})
    target = "results/mnist/cnn/benchmark_edgetpu.csv"
    job = snakemake(project_copy, "--mode", "remote", "-n", "--cores", "1", *TINY, "required.yaml", "--", target,
                        CORALBUILD_EDGETPU_COMPILER=found_on_host)
    assert job.returncode == 0, job.stderr[-2000:]
    assert re.search(r"^compile_edgetpu\s+1$", job.stdout, re.MULTILINE)
    host = snakemake(project_copy, "-n", "--cores", "1", *TINY, "required.yaml", CORALBUILD_EDGETPU_COMPILER=found_on_host)
    assert host.returncode != 0 and "compile.compiler is required, but no compiler was found" in host.stdout + host.stderr


def test_required_compiler_missing_stops_before_any_job(tiny_run):
    skip_if_a_real_compiler_is_installed()
    (tiny_run / "required.yaml").write_text("compile: {compiler: required}")
    result = snakemake(tiny_run, "-n", "--cores", "1", *TINY, "required.yaml")
    assert result.returncode != 0
    assert "compile.compiler is required, but no compiler was found" in result.stdout + result.stderr
    assert "Job stats" not in result.stdout + result.stderr


def test_asking_for_a_compiled_model_without_a_compiler_says_how_to_get_one(tiny_run):
    skip_if_a_real_compiler_is_installed()
    result = snakemake(tiny_run, "results/mnist/cnn/edgetpu", "--cores", "1", *TINY)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "cannot compile results/mnist/cnn/model_int8.tflite: no edgetpu_compiler on PATH" in output
    assert "Coral's apt repository" in output and not (tiny_run / "results/mnist/cnn/edgetpu").exists()


def test_the_report_holds_the_tables_and_plots(tiny_run):
    result = snakemake(tiny_run, "--report", "results/report.html", *TINY)
    assert result.returncode == 0, result.stderr[-2000:]
    html = (tiny_run / "results/report.html").read_text()
    for name in ("benchmark.csv", "summary.csv"):
        embedded = re.search(rf"data:text/csv;charset=utf8;filename={re.escape(name)};base64,([A-Za-z0-9+/=]+)", html)
        assert embedded and base64.b64decode(embedded.group(1)) == (tiny_run / "results" / name).read_bytes()
    for plot in ("latency", "accuracy_vs_size", "training_curves", "edgetpu_ops"):
        assert f"filename={plot}.png;base64," in html


def test_the_report_renders_in_headless_chromium(tiny_run, tmp_path):
    chromium = shutil.which("chromium")
    if not chromium:
        pytest.skip("Debian's chromium is not installed (apt install chromium)")
    report = tiny_run / "results/report.html"
    if not report.exists():
        snakemake(tiny_run, "--report", "results/report.html", *TINY)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000"]
    dom = subprocess.run([chromium, *flags, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120)
    rendered, raw = dom.stdout, report.read_text()
    # The report is a page its script builds: these elements exist only once that code has run.
    for element in (">Results<", ">Tables<", ">Plots<"):
        assert element in rendered and element not in raw, element
    screenshot = subprocess.run([chromium, *flags, f"--screenshot={tmp_path / 'report.png'}", "--window-size=1400,1000",
                                 report.as_uri()], capture_output=True, timeout=120)
    assert screenshot.returncode == 0 and (tmp_path / "report.png").stat().st_size > 10_000


def test_both_default_models_are_predicted_to_map_fully(tiny_run):
    for model in ("cnn", "mlp"):
        prediction = json.loads((tiny_run / f"results/mnist/{model}/edgetpu_prediction.json").read_text())
        assert prediction["fully_mapped"] and prediction["segments"] == 1 and prediction["ops_cpu"] == 0
    table = pd.read_csv(tiny_run / "results/benchmark.csv")
    assert (table.predicted_ops_cpu == 0).all() and (table.predicted_ops_edgetpu > 0).all()


def test_requiring_full_mapping_stops_a_model_that_would_not_map(tiny_run, tmp_path):
    project = tmp_path / "project"  # a copy: the tiny run's results stay as later tests read them
    shutil.copytree(tiny_run, project, symlinks=True)
    (project / "strict.yaml").write_text("compile: {min_runtime_version: 12}\npredict: {require_full_mapping: true}")
    result = snakemake(project, "--cores", "2", *TINY, "strict.yaml")
    assert result.returncode != 0
    assert "not predicted to map fully to the Edge TPU" in result.stdout + result.stderr



def test_training_killed_in_the_workflow_resumes_and_matches_an_uninterrupted_one(tmp_path):
    three_epochs = ["results/mnist/cnn/model.keras", *TINY, "epochs.yaml"]
    projects = {}
    for name in ("uninterrupted", "killed"):
        projects[name] = copy_project(tmp_path / name)
        (projects[name] / "epochs.yaml").write_text("train: {epochs: 3}")
    # The uninterrupted run goes on beside the killed one: each leaves a core idle much of the time.
    with open(tmp_path / "uninterrupted.out", "w") as output:
        uninterrupted = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "2", *three_epochs],
                                         cwd=projects["uninterrupted"], stdout=output, stderr=subprocess.STDOUT,
                                         env=environment())
    try:
        killed = projects["killed"]
        run_killed_when(killed, "results/mnist/cnn/train_state.npz", *three_epochs)  # after the first epoch
        assert not (killed / "results/mnist/cnn/model.keras").exists()
        result = snakemake(killed, "--cores", "2", *three_epochs)
        assert result.returncode == 0, result.stderr[-3000:]
    finally:
        uninterrupted.wait()
    assert uninterrupted.returncode == 0, (tmp_path / "uninterrupted.out").read_text()[-3000:]
    assert "train_state.npz: resuming after epoch" in (killed / "results/mnist/cnn/logs/train.log").read_text()
    for name in ("model.keras", "history.csv"):
        assert ((killed / "results/mnist/cnn" / name).read_bytes()
                == (projects["uninterrupted"] / "results/mnist/cnn" / name).read_bytes()), name
    assert not (killed / "results/mnist/cnn/train_state.npz").exists()

# A failing run leaves the results of an earlier run as they were: every file under results/
# keeps its bytes and modification time; only a new dataset's own folder may appear.

def results_state(project):
    return {path.relative_to(project): (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
            for path in (project / "results").rglob("*") if path.is_file()}


def broken_dataset(project, corrupt):
    """A second dataset `broken`: MNIST's files with one corrupted by `corrupt(content) -> content`."""
    shutil.copytree(MNIST, project / "broken")
    labels = project / "broken/train-labels-idx1-ubyte.gz"
    labels.write_bytes(corrupt(labels.read_bytes()))
    mnist = yaml.safe_load((PROJECT / "config/config.yaml").read_text())["datasets"]["mnist"]
    return yaml.safe_dump({"datasets": {"broken": {**mnist, "path": "broken", "max_train_size": 2000}}})


def flipped_label(content):
    raw = bytearray(gzip.decompress(content))
    raw[-1] = (raw[-1] + 1) % 10
    return gzip.compress(bytes(raw), mtime=0)


FAILING_CASES = {
    "unknown key": ("train: {epoch: 5}", "invalid config at train"),
    "wrong type": ("train: {epochs: five}", "invalid config at train.epochs"),
    "out-of-range value": ("train: {epochs: 0}", "invalid config at train.epochs"),
    "unknown architecture": ("models: {cnn: {architecture: resnet}}", "invalid config at models.cnn.architecture"),
    "name with a path separator": ("models: {../x: {architecture: mlp}}", "invalid config at models"),
    "name with shell metacharacters": ("models: {'x;rm -rf': {architecture: mlp}}", "invalid config at models"),
    "missing dataset path": ("datasets: {mnist: {path: nowhere}}", "invalid config at datasets.mnist.path"),
    "required compiler missing": ("compile: {compiler: required}", "compile.compiler is required"),
    "truncated dataset file": (partial(broken_dataset, corrupt=lambda content: content[:10000]),
                               "train-labels-idx1-ubyte.gz: truncated or corrupt gzip"),
    "dataset file with a wrong checksum": (partial(broken_dataset, corrupt=flipped_label),
                                           "train-labels-idx1-ubyte.gz: sha256 of the uncompressed content"),
}


@pytest.mark.parametrize("case", FAILING_CASES)
def test_a_failing_run_leaves_earlier_results_untouched(tiny_run, tmp_path, case):
    if case == "required compiler missing":
        skip_if_a_real_compiler_is_installed()
    project = tmp_path / "project"
    shutil.copytree(tiny_run, project, symlinks=True)
    before = results_state(project)
    config, message = FAILING_CASES[case]
    (project / "bad.yaml").write_text(config if isinstance(config, str) else config(project))
    result = snakemake(project, "--cores", "2", *TINY, "bad.yaml")
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    after = {path: state for path, state in results_state(project).items() if path.parts[1] != "broken"}
    assert after == before
