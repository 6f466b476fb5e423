import copy
import json

import pytest
import yaml
from snakemake.utils import update_config

from conftest import PROJECT, run_snakemake, write_image_folder
from coralbuild.errors import ConfigError
from coralbuild.workflow import validate_config

DEFAULT = yaml.safe_load((PROJECT / "config" / "config.yaml").read_text())
SCHEMA_PATH = PROJECT / "config" / "schema.yaml"
SCHEMA = yaml.safe_load(SCHEMA_PATH.read_text())


def first_error(config):
    """The one line the workflow's validation gives for `config` (a copy: validation fills in
    defaults), or None when it is valid."""
    try:
        validate_config(copy.deepcopy(config), SCHEMA_PATH)
    except ConfigError as error:
        return str(error)
    return None


def changed(path, value):
    config = copy.deepcopy(DEFAULT)
    *parents, key = path
    target = config
    for parent in parents:
        target = target[parent]
    if value is KeyError:
        del target[key]
    else:
        target[key] = value
    return config


def test_default_and_tiny_configs_are_valid():
    assert first_error(DEFAULT) is None
    tiny = yaml.safe_load((PROJECT / "config" / "tiny.yaml").read_text())
    merged = copy.deepcopy(DEFAULT)
    update_config(merged, tiny)  # how Snakemake merges --configfile files
    assert first_error(merged) is None


@pytest.mark.parametrize("path, value, message", [
    (["train", "epochs"], -1, "invalid config at train.epochs: -1 is less than the minimum of 0"),
    (["train", "epochs"], "five", "invalid config at train.epochs: 'five' is not of type 'integer'"),
    (["train", "epoch"], 3, "invalid config at train: Additional properties are not allowed ('epoch' was unexpected)"),
    (["surprise"], 1, "invalid config at (top level): Additional properties are not allowed ('surprise' was unexpected)"),
    (["models", "cnn", "hidden_units"], [3], "invalid config at models.cnn: Unevaluated properties are not allowed ('hidden_units' was unexpected)"),
    (["models", "cnn", "alpha"], 0.5, "invalid config at models.cnn: Unevaluated properties are not allowed ('alpha' was unexpected)"),
    # A key its architecture requires, missing: named, not its neighbours called "unexpected".
    (["models", "mlp", "dropout"], KeyError, "invalid config at models.mlp: 'dropout' is a required property"),
    (["models", "cnn", "datasets"], ["mnist", "mnist"], "invalid config at models.cnn.datasets: ['mnist', 'mnist'] has non-unique elements"),
    (["datasets", "mnist", "image_size"], [96], "invalid config at datasets.mnist.image_size: [96] is too short"),
    (["datasets", "mnist", "color"], "cmyk", "invalid config at datasets.mnist.color: 'cmyk' is not one of ['grayscale', 'rgb']"),
    (["datasets", "mnist", "validation_size"], 1.5, "invalid config at datasets.mnist.validation_size: 1.5 is not valid under any of the given schemas"),
    (["quantize", "dense_weights"], "per_row", "invalid config at quantize.dense_weights: 'per_row' is not one of ['per_tensor', 'per_channel']"),
    (["models", "a/b"], {"architecture": "mlp", "hidden_units": [8], "dropout": 0.1}, "invalid config at models: 'a/b' does not match"),
    (["models", "my model;rm"], {"architecture": "mlp", "hidden_units": [8], "dropout": 0.1}, "invalid config at models: 'my model;rm' does not match"),
    (["quantize", "io_type"], "float16", "invalid config at quantize.io_type: 'float16' is not one of ['uint8', 'int8']"),
    (["models"], KeyError, "invalid config at (top level): 'models' is a required property"),
    (["datasets", "mnist", "sha256", "train_images"], "abc", "invalid config at datasets.mnist.sha256.train_images: 'abc' does not match"),
    (["datasets", "mnist", "url"], "https://example.org/", "invalid config at datasets.mnist: 'download_sha256' is a dependency of 'url'"),
])
def test_schema_names_the_bad_key(path, value, message):
    assert first_error(changed(path, value)).startswith(message)


def run_dry(project, config_text):
    """A dry run of the default config with `config_text` merged over it."""
    (project / "bad.yaml").write_text(config_text)
    return run_snakemake(project, "-n", "--cores", "1", "--configfile", "config/config.yaml", "bad.yaml")


@pytest.mark.parametrize("config_text, message", [
    ("train: {epochs: -1}", "invalid config at train.epochs: -1 is less than the minimum of 0"),
    ("train: {epochs: 0}", "invalid config at train.epochs: 0 leaves model cnn, built here, untrained"),
    ("models: {cnn: {architecture: cnn, train: {epochs: 0}}}",
     "invalid config at models.cnn.train.epochs: 0 leaves model cnn, built here, untrained"),
    ("models: {cnn: {architecture: resnet}}", "invalid config at models.cnn.architecture: unknown architecture 'resnet' (known: cnn, efficientnet_b0, mlp, mobilenet_v2"),
    ("benchmark: {devices: [cpu, tpu]}",
     "invalid config at benchmark.devices: unknown device 'tpu' (known: cpu: cpu; edgetpu: usb, usb:N, pci, pci:N, :N"),
    ("models: {big: {architecture: mobilenet_v2, datasets: [mnist]}}",
     "invalid config at datasets.mnist.image_size: none given, and its images (28x28) are too small for model big"),
    ("datasets: {mnist: {image_size: [24, 24]}}\nmodels: {m: {architecture: mobilenet_v2}}",
     "invalid config at datasets.mnist.image_size: 24x24 is too small for model m (mobilenet_v2), the minimum is 32x32"),
    ("models: {given: {source: nowhere.tflite}}", "invalid config at models.given.source: nowhere.tflite not found"),
    ("models: {m: {architecture: mobilenet_v2, weights: nowhere.h5}}",
     "invalid config at models.m.weights: nowhere.h5 not found (imagenet, null, or the path of a no-top weights file)"),
    ("models: {m: {architecture: mobilenet_v2, alpha: 0.6, weights: imagenet}}",
     "invalid config at models.m.weights: Keras has ImageNet weights for mobilenet_v2 at alpha 0.35, 0.5, 0.75, 1.0, 1.3 and 1.4, not 0.6"),
    ("models: {m: {architecture: mobilenet_v3_small, minimalistic: true, alpha: 0.75, weights: imagenet}}",
     "invalid config at models.m.weights: Keras has ImageNet weights for minimalistic MobileNetV3 at alpha 1.0, not 0.75"),
    ("models: {m: {architecture: mobilenet_v2, fine_tune: {frozen_epochs: 2}}}",
     "invalid config at models.m.fine_tune: fine-tuning needs pretrained weights (set weights: imagenet or a weights file)"),
    ("models: {m: {architecture: mobilenet_v2, weights: imagenet, fine_tune: {frozen_epochs: 5}}}",
     "invalid config at models.m.fine_tune.frozen_epochs: 5 frozen epochs of 5 leave none to fine-tune"),
    ("datasets: {mnist: {image_size: [32, 32]}}\nmodels: {m: {architecture: mobilenet_v2, weights: imagenet}}",
     "invalid config at datasets.mnist.color: model m starts from pretrained weights, which take RGB images; set color: rgb"),
    ("models: {both: {architecture: mlp, hidden_units: [8], dropout: 0.1, source: x.keras}}",
     "invalid config at models.both: give exactly one of 'architecture' or 'source'"),
    ("models: {odd: {source: model.onnx}}", "invalid config at models.odd.source: model.onnx is not a .keras file"),
    ("datasets: {mnist: {format: lmdb}}", "invalid config at datasets.mnist.format: unknown format 'lmdb' (known: idx, image_folder"),
    ("datasets: {mnist: {path: nowhere}}", "invalid config at datasets.mnist.path: nowhere/train-images-idx3-ubyte.gz not found"),
    ("baseline: before", "invalid config at baseline: before is not an earlier run's results folder "
     "(no before/benchmark.csv or before/results/benchmark.csv)"),
    ("baseline: results/benchmark.csv", "invalid config at baseline: results/benchmark.csv is this run's own results"),
    ("train: {epochs: 1}\nmodels: {}\ntrain: {epochs: 2}",
     "bad.yaml line 3: key 'train' given twice (YAML would keep only the last)"),
    ("models:\n  cnn: {architecture: cnn}\n  cnn: {architecture: mlp}",
     "bad.yaml line 3: key 'cnn' given twice (YAML would keep only the last)"),
])
def test_snakemake_stops_with_one_line_naming_the_key(project_copy, config_text, message):
    result = run_dry(project_copy, config_text)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert message in output
    line = next(line for line in output.splitlines() if message in line)
    assert "{" not in line.split(message)[0]  # no schema dump before the message
    assert not (project_copy / "results").exists()


@pytest.mark.parametrize("table, message", [
    ("dataset,model,median_ms\nmnist,cnn,1.0\n", "before/benchmark.csv: not a benchmark table of this workflow's "
     "version (baseline): no column artifact, device"),
    ("", "before/benchmark.csv: not a readable benchmark table (baseline: No columns to parse from file)"),
    (None, "before/benchmark.csv: row mnist/cnn/int8/cpu: median_ms is 'fast', not a finite number (baseline)"),
])
def test_a_baseline_whose_table_is_corrupt_stops_the_run_before_any_job(project_copy, table, message):
    from test_compare_results import write_run

    folder = write_run(project_copy / "before", [{"median_ms": "fast"}])
    if table is not None:
        (folder / "benchmark.csv").write_text(table)
    result = run_dry(project_copy, "baseline: before")
    assert result.returncode != 0
    assert f"invalid config at baseline: {message}" in result.stdout + result.stderr
    assert not (project_copy / "results").exists()


def section_default(section, key):
    return SCHEMA["properties"][section]["properties"][key]["default"]


def test_left_out_sections_and_keys_take_the_schema_defaults():
    cnn = {**DEFAULT["models"]["cnn"], "train": {"epochs": 2}}
    config = {"datasets": copy.deepcopy(DEFAULT["datasets"]), "models": {"cnn": cnn},
              "train": {"epochs": 3}, "compile": {"extra_args": ["-a"]}}
    validate_config(config, SCHEMA_PATH)
    assert first_error(config) is None  # the defaults are valid values
    assert set(config) == set(SCHEMA["properties"])
    # Given values stay; the keys left out of a given section are filled.
    assert config["train"]["epochs"] == 3 and config["compile"]["extra_args"] == ["-a"]
    assert config["train"]["batch_size"] == section_default("train", "batch_size")
    assert config["compile"]["timeout_s"] == section_default("compile", "timeout_s")
    assert config["benchmark"]["iterations"] == section_default("benchmark", "iterations")
    # A model's own train section holds only its overrides: a default there would override the
    # top-level section's value.
    assert config["models"]["cnn"]["train"] == {"epochs": 2}
    assert config["datasets"] == DEFAULT["datasets"]


def test_an_own_config_in_another_folder_is_the_whole_config(project_copy, tmp_path):
    """--configfile alone: nothing of config/config.yaml (MNIST, model mlp) is planned, and the
    sections the file leaves out reach the jobs with the schema's defaults."""
    write_image_folder(tmp_path / "photos", per_class=6, size=(12, 12))
    own = tmp_path / "elsewhere" / "my.yaml"
    own.parent.mkdir()
    own.write_text(yaml.safe_dump({
        "datasets": {"photos": {"format": "image_folder", "path": str(tmp_path / "photos"), "image_size": [12, 12],
                                "color": "rgb", "test_size": 2, "validation_size": 1, "seed": 0}},
        "models": {"small": {"architecture": "cnn", "conv_filters": [4], "kernel_size": 3, "dense_units": []}},
        "train": {"epochs": 1},
    }))
    result = run_snakemake(project_copy, "-n", "-p", "--cores", "1", "--configfile", own)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "results/photos/small/model.keras" in output
    assert "mnist" not in output and "mlp" not in output
    train_command = next(line for line in output.splitlines() if "python scripts/train.py" in line)
    assert '"epochs":1' in train_command
    assert f'"batch_size":{section_default("train", "batch_size")}' in train_command


def test_a_weights_file_is_an_input_of_its_model_training_and_recorded_in_the_manifest(project_copy, tmp_path):
    """`weights: <file>`: the file is the train job's input (a changed file reruns the model's
    chain) and the manifest job records it among the files you brought (with its sha256)."""
    weights = tmp_path / "my weights.h5"
    weights.write_bytes(b"stands for a weights file: only planned here")
    write_image_folder(tmp_path / "photos", per_class=6, size=(32, 32))
    own = tmp_path / "my.yaml"
    own.write_text(yaml.safe_dump({
        "datasets": {"photos": {"format": "image_folder", "path": str(tmp_path / "photos"), "image_size": [32, 32],
                                "color": "rgb", "test_size": 2, "validation_size": 1, "seed": 0}},
        "models": {"mnv2": {"architecture": "mobilenet_v2", "alpha": 0.35, "weights": str(weights),
                            "fine_tune": {"frozen_epochs": 1}}},
    }))
    result = run_snakemake(project_copy, "-n", "-p", "--cores", "1", "--configfile", own)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    train_job = output.split("rule train:", 1)[1].split("rule ", 1)[0]
    assert str(weights) in next(line for line in train_job.splitlines() if line.strip().startswith("input:"))
    manifest_command = next(line for line in output.splitlines() if "write_manifest.py" in line and "--brought" in line)
    assert json.dumps({"mnv2": str(weights)}) in manifest_command.replace('":"', '": "')


def test_a_valid_config_is_remembered_and_the_next_dry_run_is_filled_from_memory(tmp_path):
    """What the Snakefile does at every DAG build (workflow.VALIDATED_CONFIG): the first
    validation writes the filled config; the next, of the same config, schema and code, reads it
    back without importing jsonschema; anything else validates afresh."""
    import subprocess
    import sys

    from conftest import SCRIPTS

    memo = tmp_path / "validated_config.json"
    first = copy.deepcopy(DEFAULT)
    validate_config(first, SCHEMA_PATH, memo, update_memo=True)
    assert json.loads(memo.read_text())["config"] == first and first != DEFAULT  # the defaults filled in
    probe = (f"import sys, copy, json, yaml; sys.path.insert(0, {str(SCRIPTS)!r});"
             "from coralbuild.workflow import validate_config;"
             f"config = yaml.safe_load(open({str(PROJECT / 'config/config.yaml')!r}));"
             f"validate_config(config, {str(SCHEMA_PATH)!r}, {str(memo)!r});"
             "print(json.dumps([config, 'jsonschema' in sys.modules]))")
    again, imported = json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                                                check=True).stdout)
    assert again == first and not imported
    # The memory is what is read: a marked copy comes back; a changed schema or config does not read it.
    remembered = json.loads(memo.read_text())
    memo.write_text(json.dumps({**remembered, "config": {**remembered["config"], "marked": True}}))
    marked = copy.deepcopy(DEFAULT)
    validate_config(marked, SCHEMA_PATH, memo)
    assert marked["marked"] is True
    schema = tmp_path / "schema.yaml"
    schema.write_text(SCHEMA_PATH.read_text() + "# changed\n")
    unmarked = copy.deepcopy(DEFAULT)
    validate_config(unmarked, schema, memo)
    assert unmarked == first
    other = changed(["train", "epochs"], 2)
    validate_config(other, SCHEMA_PATH, memo)
    assert "marked" not in other and other["train"]["epochs"] == 2


@pytest.mark.parametrize("memo_text", [None, "{not json", '{"key": 1}', "[]"])
def test_a_missing_or_corrupt_memory_means_validating_again(tmp_path, memo_text):
    memo = tmp_path / "validated_config.json"
    if memo_text is not None:
        memo.write_text(memo_text)
    config = copy.deepcopy(DEFAULT)
    validate_config(config, SCHEMA_PATH, memo, update_memo=True)
    assert json.loads(memo.read_text())["config"] == config and config["train"] != DEFAULT["train"]


def test_an_invalid_config_or_one_json_cannot_carry_is_never_remembered(tmp_path):
    memo = tmp_path / "validated_config.json"
    with pytest.raises(ConfigError, match="train.epochs"):
        validate_config(changed(["train", "epochs"], -1), SCHEMA_PATH, memo, update_memo=True)
    assert not memo.exists()
    # JSON would give back a key that is not a string as one, and a tuple as a list: no memory of those.
    from coralbuild.workflow import _memo_key

    assert _memo_key({"train": {7: 1}}, SCHEMA_PATH) is None and _memo_key({"a": (1, 2)}, SCHEMA_PATH) is None
    assert len(_memo_key({"train": {"epochs": 1}}, SCHEMA_PATH)) == 64
