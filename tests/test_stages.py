"""The stage table (coralbuild/stages.py) against the workflow Snakemake builds, and what the
manifest records from it: the config sections and code on the way to each artifact."""

import re
import subprocess

import yaml
from test_compare_results import write_run

from conftest import PROJECT, SCRIPTS, run_script, run_snakemake
from coralbuild import stages

# Every kind of stage at once: a dataset by URL beside the path one, a trained and a brought int8 model.
EVERY_STAGE = {
    "datasets": {"served": {"url": "https://example.org/mnist/", "validation_size": 500, "seed": 0,
                            "sha256": yaml.safe_load((PROJECT / "config/config.yaml").read_text())["datasets"]["mnist"]["sha256"],
                            "download_sha256": {part: "ab" * 32 for part in ("train_images", "train_labels", "test_images", "test_labels")}}},
    "models": {"given": {"source": str(PROJECT / "tests/data/cnn_int8.tflite"), "input_range": [0, 1]}},
}


def rule_graph(project, *args, path_first=()):
    """Rule -> the rules whose outputs it reads, from `snakemake --rulegraph`."""
    result = run_snakemake(project, "--rulegraph", *args, path_first=path_first)
    assert result.returncode == 0, result.stderr[-2000:]
    names = dict(re.findall(r'^\s*(\d+)\[label = "(\w+)"', result.stdout, re.MULTILINE))
    graph = {name: set() for name in names.values()}
    for source, target in re.findall(r"^\s*(\d+) -> (\d+)", result.stdout, re.MULTILINE):
        graph[names[target]].add(names[source])
    return graph


def test_the_stage_table_is_the_workflow_s_rule_graph(project_copy, stand_in_compiler):
    write_run(project_copy / "before", [{}])  # a baseline to compare with
    (project_copy / "every.yaml").write_text(yaml.safe_dump({**EVERY_STAGE, "baseline": "before"}))
    graph = rule_graph(project_copy, "--configfile", "config/config.yaml", "every.yaml", path_first=[stand_in_compiler])
    # Every stage but the benchmark rules of device targets this config has no device of.
    from coralbuild.measure.targets import configured_devices, targets_of
    from coralbuild.workflow import validate_config

    config = yaml.safe_load((PROJECT / "config/config.yaml").read_text())
    validate_config(config, PROJECT / "config/schema.yaml")
    asked = {target.RULE for target in targets_of(configured_devices(config["benchmark"]))}
    assert {"benchmark_cpu", "benchmark_edgetpu", "estimate_edgetpu"} <= asked
    unasked = set(stages.TARGET_RULES) - asked
    assert set(graph) - {"all", "code_digest"} == set(stages.STAGES) - unasked
    for rule, inputs in graph.items():
        if rule in stages.STAGES and rule != "manifest":  # the manifest reads every artifact
            assert inputs - {"code_digest"} == set(stages.STAGES[rule].inputs) - unasked, rule
        if rule in stages.STAGES:
            assert "code_digest" in inputs, f"rule {rule} does not list its code digest"


CONFIG = {"datasets": {"d": {"path": "x", "sha256": {}, "validation_size": 5, "seed": 0},
                       "u": {"url": "https://example.org/", "sha256": {}, "download_sha256": {}, "validation_size": 5, "seed": 0}},
          "models": {"m": {"architecture": "mlp"}, "given": {"source": "given.tflite", "input_range": [0, 1]}},
          "train": {"epochs": 1}, "quantize": {"io_type": "uint8"}, "compile": {}, "predict": {}, "benchmark": {}}


def entries(compiled=False):
    made = stages.manifest_entries(CONFIG, compiled, ["m"], ["benchmark_cpu"], ["results/plots/latency.png"])
    return {entry["path"]: entry for entry in made}


def test_each_artifact_names_the_config_sections_and_code_on_its_way():
    made = entries()
    int8 = made["results/d/m/model_int8.tflite"]
    assert set(int8["config_sections"]) == {"datasets.d", "models.m", "train", "quantize"}
    assert int8["code"] == ["results/code/convert_tflite.sha256", "results/code/export_saved_model.sha256",
                            "results/code/prepare_dataset.sha256", "results/code/train.sha256"]
    # A brought int8 model is neither trained nor quantized here: no train or quantize upstream.
    given = made["results/d/given/benchmark_cpu.csv"]
    assert set(given["config_sections"]) == {"datasets.d", "models.given", "train", "benchmark"}
    assert "results/code/train.sha256" not in given["code"] and "results/code/import_int8.sha256" in given["code"]
    # Only the URL dataset downloads.
    assert "results/code/download_dataset_file.sha256" in made["results/u/data"]["code"]
    assert "results/code/download_dataset_file.sha256" not in made["results/d/data"]["code"]
    assert "results/d/m/edgetpu" not in made and "results/code/compile_edgetpu.sha256" not in made
    assert "results/code/compile_edgetpu.sha256" in entries(compiled=True)["results/d/m/edgetpu"]["code"]


def test_the_manifest_lists_every_code_digest_its_artifacts_name():
    made = entries()
    named = {digest for entry in made.values() for digest in entry["code"]}
    assert named == {path for path, entry in made.items() if entry["rule"] == "code_digest"}
    paths = stages.manifest_paths(CONFIG, False, ["m"], ["benchmark_cpu"], ["results/plots/latency.png"])
    assert sorted(paths) == sorted(made)


def test_a_code_digest_checks_with_sha256sum(tmp_path):
    output = tmp_path / "train.sha256"
    result = run_script("digest_code.py", "--root", SCRIPTS, "--files", SCRIPTS / "train.py",
                        SCRIPTS / "coralbuild/atomic.py", "--output", output)
    assert result.returncode == 0, result.stderr
    assert [line.split("  ")[1] for line in output.read_text().splitlines()] == ["train.py", "coralbuild/atomic.py"]
    check = subprocess.run(["sha256sum", "--check", "--strict", output], cwd=SCRIPTS, capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.count(": OK") == 2, check.stdout + check.stderr


def test_each_stage_gives_its_jobs_every_setting_under_a_key_of_its_own():
    """A job's settings are keyed by part ("model", "train", a `<section>.<key>` part's key): two
    parts of one stage must not share a key, or one would hide the other."""
    from coralbuild.workflow import validate_config

    config = yaml.safe_load((PROJECT / "config/config.yaml").read_text())
    validate_config(config, PROJECT / "config/schema.yaml")
    for rule, stage in stages.STAGES.items():
        keys = [key for part in stage.config for _, key, _ in stages._sections(config, part, "mnist", "cnn")]
        assert len(keys) == len(set(keys)) == len(stages.job_settings(config, rule, "mnist", "cnn")), rule
