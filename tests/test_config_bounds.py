"""Config values past what the code can hold are one line naming the key, before any job: every
number anywhere NaN or infinite, bounds in the schema, compiler options the workflow does not
understand, and names the results layout reserves. Generated over the default config's keys
where they are a class (every numeric value), listed where they are the issue's cases."""

import copy

import pytest
import yaml

from conftest import PROJECT, run_script
from coralbuild.errors import ConfigError
from coralbuild.layout import DATASET_FOLDERS, RUN_FOLDERS
from coralbuild.workflow import check_reserved_names, validate_config

SCHEMA = PROJECT / "config/schema.yaml"
DEFAULT = yaml.safe_load((PROJECT / "config/config.yaml").read_text())


def numeric_leaves(value, path=()):
    """Every (path, number) of a config, nested ones too."""
    if isinstance(value, bool):
        return
    if isinstance(value, (int, float)):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from numeric_leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from numeric_leaves(item, (*path, index))


def with_value(path, value, config=DEFAULT):
    changed = copy.deepcopy(config)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


def error_of(config):
    with pytest.raises(ConfigError) as raised:
        validate_config(config, SCHEMA)
    return str(raised.value)


LEAVES = list(numeric_leaves(DEFAULT))


def test_the_default_config_has_numbers_to_try():
    assert len(LEAVES) >= 15


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")], ids=["nan", "inf", "-inf"])
def test_a_number_that_is_not_finite_names_its_key_wherever_it_is(value):
    for path, _ in LEAVES:
        where = ".".join(map(str, path))
        assert error_of(with_value(path, value)) == f"invalid config at {where}: {value} is not a finite number"


@pytest.mark.parametrize("path, value", [
    (("train", "seed"), 2**32),
    (("datasets", "mnist", "seed"), 2**32),
    (("train", "learning_rate"), 100.0),
    (("benchmark", "timeout_s"), 10**10),
    (("compile", "timeout_s"), 10**10),
    (("benchmark", "threads"), 1_000_000),
    (("benchmark", "iterations"), 10**9),
    (("benchmark", "warmup"), 10**9),
    (("compile", "min_runtime_version"), -5),
])
def test_a_value_past_its_bound_names_its_key(path, value):
    assert error_of(with_value(path, value)).startswith(f"invalid config at {'.'.join(path)}: {value}")


def test_a_file_url_is_refused_a_local_dataset_is_a_path():
    """pooch downloads only over the network: a file:// URL passed the schema and never downloaded."""
    config = with_value(("datasets", "mnist", "url"), "file:///srv/mnist/")
    assert error_of(config) == "invalid config at datasets.mnist.url: 'file:///srv/mnist/' does not match '^https?://'"


@pytest.mark.parametrize("name", ["..", ".", "sub/labels.gz", "/etc/passwd"])
def test_a_dataset_file_name_that_names_a_folder_or_a_path_is_refused(name):
    """`files: {train_labels: ".."}` made the download's output the dataset folder itself."""
    message = error_of(with_value(("datasets", "mnist", "files"), {"train_labels": name}))
    assert message.startswith(f"invalid config at datasets.mnist.files.train_labels: '{name}' does not match")


@pytest.mark.parametrize("options", [["--out_dir=/somewhere"], ["-o", "/tmp"], ["-n", "2"], ["-i", "x"], ["-m", "10"]])
def test_only_compiler_options_the_workflow_understands_pass(options):
    assert error_of(with_value(("compile", "extra_args"), options)).startswith("invalid config at compile.extra_args.0: ")


def test_the_understood_compiler_options_pass():
    validate_config(with_value(("compile", "extra_args"), ["-a", "-s"]), SCHEMA)


@pytest.mark.parametrize("section, name", [("models", name) for name in DATASET_FOLDERS]
                         + [("datasets", name) for name in RUN_FOLDERS])
def test_a_name_the_layout_uses_for_its_own_folders_is_refused(section, name):
    config = copy.deepcopy(DEFAULT)
    config[section][name] = next(iter(config[section].values()))
    with pytest.raises(ConfigError, match=f"invalid config at {section}.{name}: '{name}' is a folder the workflow writes"):
        check_reserved_names(config)


def test_the_prediction_cli_refuses_a_runtime_version_that_does_not_exist():
    result = run_script("predict_edgetpu.py", PROJECT / "tests/data/cnn_int8.tflite", "--min-runtime-version", "-5")
    assert result.returncode == 2 and "argument --min-runtime-version: invalid choice: -5" in result.stderr


def alias_bomb(levels=9):
    """YAML whose aliases expand to 10^levels values ("billion laughs" at 9)."""
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * 10) + "]" for level in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_a_config_whose_aliases_expand_without_end_is_one_line_at_once():
    config = {**copy.deepcopy(DEFAULT), "extra": yaml.safe_load(alias_bomb())}
    assert error_of(config) == "invalid config: more than 100,000 values (YAML aliases expanding without end?)"


def test_a_thresholds_file_whose_aliases_expand_without_end_is_one_line(tmp_path):
    """The bomb is a known threshold's value: the message shows it cut short, never walked whole."""
    from coralbuild.errors import BadInput
    from coralbuild.reporting.compare.gate import read_thresholds

    path = tmp_path / "thresholds.yaml"
    path.write_text("max_latency_ratio:\n" + "".join(f"  {line}\n" for line in alias_bomb().splitlines()))
    with pytest.raises(BadInput, match=r"max_latency_ratio must be a number >= 0, got \{'a0': \['x', 'x', 'x', 'x', "):
        read_thresholds(path)


@pytest.mark.parametrize("key", ["baseline", "datasets.mnist.path", "datasets.mnist.url", "models.given.source",
                                 "models.mnv2.weights"])
@pytest.mark.parametrize("brace", ["{", "}"])
def test_a_path_with_a_brace_is_one_line_naming_its_key(key, brace):
    from coralbuild.workflow import check_paths

    config = copy.deepcopy(DEFAULT)
    config["models"].update(given={"source": "m.tflite"}, mnv2={"architecture": "mobilenet_v2", "weights": "w.h5"})
    config["baseline"] = "before"
    *parents, last = key.split(".")
    target = config
    for part in parents:
        target = target[part]
    target[last] = f"data/run{brace}1"
    with pytest.raises(ConfigError, match=f"invalid config at {key}: 'data/run\\{brace}1' holds {{ or }}"):
        check_paths(config)
    target[last] = "data/run1"
    check_paths(config)
