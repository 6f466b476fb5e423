import json
import zipfile

from conftest import run_script
from coralbuild import stages
from coralbuild.models.keras_archive import normalize_keras_archive
from coralbuild.reporting.manifest import build_manifest, compare, verify


def make_tree(root):
    (root / "results/d/m/saved_model/variables").mkdir(parents=True)
    (root / "results/d/data.npz").write_bytes(b"split")
    (root / "results/d/m/saved_model/saved_model.pb").write_bytes(b"graph")
    (root / "results/d/m/saved_model/variables/variables.index").write_bytes(b"index")
    (root / "results/d/m/benchmark_cpu.csv").write_text("median_ms\n0.1\n")
    return [entry("results/d/data.npz", "prepare_dataset", "a"), entry("results/d/m/saved_model", "export_saved_model", "b"),
            entry("results/d/m/benchmark_cpu.csv", "benchmark_cpu", "c")]


def entry(path, rule, config_hash):
    return {"path": path, "rule": rule, "config_hash": config_hash, "config_sections": {}, "code": []}


def test_manifest_lists_every_file_and_verification_names_changes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    manifest = build_manifest(make_tree(tmp_path))
    paths = [artifact["path"] for artifact in manifest["artifacts"]]
    assert paths == ["results/d/data.npz", "results/d/m/saved_model/saved_model.pb",
                     "results/d/m/saved_model/variables/variables.index", "results/d/m/benchmark_cpu.csv"]
    assert {artifact["rule"] for artifact in manifest["artifacts"][1:3]} == {"export_saved_model"}
    assert set(manifest["versions"]) >= {"python", "tensorflow", "keras", "ai-edge-litert", "snakemake", "edgetpu_compiler"}
    assert verify(manifest) == []
    (tmp_path / "results/d/m/saved_model/saved_model.pb").write_bytes(b"GRAPH")
    (tmp_path / "results/d/data.npz").unlink()
    assert verify(manifest) == ["missing: results/d/data.npz",
                                "changed: results/d/m/saved_model/saved_model.pb (made by rule export_saved_model)"]
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    result = run_script("verify_manifest.py", "manifest.json", cwd=tmp_path)
    assert result.returncode == 1 and "2 difference(s) in 4 files" in result.stdout


def test_two_runs_compare_without_their_timings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    entries = make_tree(tmp_path)
    first = build_manifest(entries)
    (tmp_path / "results/d/m/benchmark_cpu.csv").write_text("median_ms\n0.2\n")  # another timing
    assert compare(first, build_manifest(entries)) == []
    (tmp_path / "results/d/m/saved_model/variables/variables.index").write_bytes(b"other")
    assert compare(first, build_manifest(entries)) == ["different bytes: results/d/m/saved_model/variables/variables.index"]


def test_config_hash_follows_what_an_artifact_depends_on():
    config = {"datasets": {"d": {"path": "x", "sha256": {}, "validation_size": 5, "seed": 0}},
              "models": {"m": {"architecture": "mlp", "hidden_units": [8], "dropout": 0.1}},
              "train": {"epochs": 1}, "quantize": {"io_type": "uint8"}, "compile": {}, "predict": {}, "benchmark": {"iterations": 5}}
    hashes = {rule: stages.config_hash(stages.upstream_config(config, rule, "d", "m"))
              for rule in ("prepare_dataset", "train", "quantize_int8", "benchmark_cpu")}
    config["benchmark"]["iterations"] = 6
    after = {rule: stages.config_hash(stages.upstream_config(config, rule, "d", "m")) for rule in hashes}
    assert [rule for rule in hashes if hashes[rule] != after[rule]] == ["benchmark_cpu"]
    config["datasets"]["d"]["path"] = "moved"  # where the files live is not what they are
    assert stages.config_hash(stages.upstream_config(config, "prepare_dataset", "d")) == hashes["prepare_dataset"]


def test_a_keras_archive_is_normalized_without_touching_the_model(tmp_path):
    source = tmp_path / "saved.keras"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3", "date_saved": "2026-11-24@04:40:32"}))
        archive.writestr("config.json", json.dumps({"a": {"shared_object_id": 1399}, "b": [{"shared_object_id": 1399},
                                                    {"shared_object_id": 7}]}))
        archive.writestr("model.weights.h5", b"weights")
    normalize_keras_archive(source, tmp_path / "one.keras")
    normalize_keras_archive(tmp_path / "one.keras", tmp_path / "two.keras")
    assert (tmp_path / "one.keras").read_bytes() == (tmp_path / "two.keras").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.keras") as archive:
        assert json.loads(archive.read("config.json")) == {"a": {"shared_object_id": 1}, "b": [{"shared_object_id": 1},
                                                                                           {"shared_object_id": 2}]}
        assert json.loads(archive.read("metadata.json"))["date_saved"] == "1980-01-01@00:00:00"
        assert archive.read("model.weights.h5") == b"weights"
        assert {entry.date_time for entry in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_compiler_versions_are_listed_and_an_unknown_one_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    entries = []
    for model, version in (("a", "Edge TPU Compiler version 16.0.384591198"), ("b", None)):
        folder = tmp_path / f"results/d/{model}/edgetpu"
        folder.mkdir(parents=True)
        (folder / "compile.json").write_text(json.dumps({"status": "failed: timeout", "version": version}))
        entries.append(entry(f"results/d/{model}/edgetpu", "compile_edgetpu", "c"))
    manifest = build_manifest(entries)
    assert manifest["versions"]["edgetpu_compiler"] == "Edge TPU Compiler version 16.0.384591198, unknown version"


def test_versions_come_from_the_jobs_that_made_the_artifacts(tmp_path, monkeypatch):
    """Under --sdm conda the manifest job has no TensorFlow: the evaluate job's record counts."""
    monkeypatch.chdir(tmp_path)
    entries = []
    for model, tensorflow in (("a", "9.1.0"), ("b", "9.2.0")):
        folder = tmp_path / f"results/d/{model}"
        folder.mkdir(parents=True)
        (folder / "metrics.json").write_text(json.dumps({"versions": {"tensorflow": tensorflow, "keras": "not installed"}}))
        entries.append(entry(f"results/d/{model}/metrics.json", "evaluate", "e"))
    versions = build_manifest(entries)["versions"]
    assert versions["tensorflow"] == "9.1.0, 9.2.0"
    own = __import__("coralbuild.reporting.manifest", fromlist=["installed_versions"]).installed_versions()
    assert versions["keras"] == own["keras"]  # nothing recorded: the manifest job's own


def test_a_changed_artifact_names_what_differs_on_its_way(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "results/code").mkdir(parents=True)
    (tmp_path / "results/d/m").mkdir(parents=True)

    def run(quantize, code, model):
        (tmp_path / "results/code/convert_tflite.sha256").write_text(code)
        (tmp_path / "results/d/m/model_int8.tflite").write_bytes(model)
        int8 = {**entry("results/d/m/model_int8.tflite", "quantize_int8", quantize),
                "config_sections": {"datasets.d": "same", "quantize": quantize}, "code": ["results/code/convert_tflite.sha256"]}
        return build_manifest([entry("results/code/convert_tflite.sha256", "code_digest", ""), int8])

    before = run("q1", "digest 1", b"model 1")
    assert compare(before, run("q2", "digest 2", b"model 2")) == [
        "different bytes: results/code/convert_tflite.sha256",
        "different bytes: results/d/m/model_int8.tflite (config quantize, code convert_tflite.py)"]
    assert compare(before, run("q1", "digest 1", b"model 2")) == ["different bytes: results/d/m/model_int8.tflite"]
