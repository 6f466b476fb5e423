"""The device-target registry (coralbuild/measure/targets/) and its runtimes: each target declares
what the planning, the benchmark and the reports read, has a runtime of its name, and each device
entry belongs to exactly one target."""

import pytest

from conftest import PROJECT
from coralbuild import stages
from coralbuild.measure import runtimes, targets
from coralbuild.measure.targets import known_devices, target_of, targets_of


def stages_schema_keys():
    from coralbuild.defaults import load_schema

    return load_schema()["properties"]["benchmark"]["properties"]


DEVICES = {"estimate:usb3_desktop": "estimate", "cpu": "cpu", "usb": "edgetpu", "usb:0": "edgetpu", "pci": "edgetpu", "pci:1": "edgetpu", ":0": "edgetpu"}


@pytest.mark.parametrize("name", sorted(targets.TARGETS))
def test_each_target_declares_its_interface_and_has_a_runtime(name):
    target = targets.target(name)
    assert isinstance(target.DEVICES, str) and target.DEVICE_NAMES
    assert target.RULE in stages.STAGES  # its benchmark rule is a declared stage
    assert isinstance(target.NEEDS_COMPILE, bool) and isinstance(target.MEASURES, bool)
    if target.MEASURES:
        assert callable(runtimes.runtime(name).open_interpreter)
    # Its job, from which its rule and stage are generated.
    assert (PROJECT / "scripts" / target.SCRIPT).is_file() and (PROJECT / f"envs/{target.ENVIRONMENT}.yaml").is_file()
    assert set(target.INPUTS) <= set(stages.ARTIFACTS) and "table" in target.OUTPUTS and callable(target.arguments)
    if target.CONFIG_KEY != "devices":  # its entries come from its own benchmark key
        assert target.CONFIG_KEY in stages_schema_keys()
        assert all(target_of(device) is target for device in target.devices(["a_setup"]))


@pytest.mark.parametrize("device, name", DEVICES.items())
def test_each_device_entry_belongs_to_exactly_one_target(device, name):
    import re

    matching = [other for other in targets.TARGETS if re.fullmatch(targets.target(other).DEVICES, device)]
    assert matching == [name]
    assert target_of(device) is targets.target(name)


@pytest.mark.parametrize("device", ["tpu", "gpu", "usb0", "cpu:0", "", "pci:"])
def test_an_unknown_device_has_no_target_and_the_message_names_the_known_ones(device):
    assert target_of(device) is None
    assert "cpu" in known_devices() and "usb:N" in known_devices()


def test_estimate_entries_come_from_their_own_key_not_from_devices():
    from coralbuild import workflow
    from coralbuild.measure.targets import configured_devices

    devices = configured_devices({"devices": ["cpu"], "estimate": ["usb3_desktop", "devboard"]})
    assert devices == ["cpu", "estimate:usb3_desktop", "estimate:devboard"]
    assert [target.RULE for target in targets_of(devices)] == ["benchmark_cpu", "estimate_edgetpu"]
    assert "estimate" not in known_devices()
    with pytest.raises(workflow.ConfigError, match="benchmark.devices: unknown device 'estimate:usb3_desktop'"):
        workflow.check_devices(["estimate:usb3_desktop"])
    with pytest.raises(workflow.ConfigError, match="benchmark.estimate: unknown setup 'laptop'.*usb3_desktop"):
        workflow.check_estimate_setups(["laptop"])


def test_targets_of_devices_are_each_once_in_registry_order():
    assert [target.RULE for target in targets_of(["usb", "cpu", "pci:0"])] == ["benchmark_cpu", "benchmark_edgetpu"]
    assert [target.RULE for target in targets_of(["usb"])] == ["benchmark_edgetpu"]


def test_the_cpu_runtime_opens_a_model_with_the_cpu_facts(tmp_path):
    interpreter, facts = runtimes.runtime("cpu").open_interpreter(PROJECT / "tests/data/cnn_int8.tflite", "cpu", 1)
    assert facts == {"device_name": "cpu", "edgetpu_runtime": None, "edgetpu_access": None}
    assert interpreter.get_input_details()[0]["shape"].tolist()[0] == 1


@pytest.fixture(scope="module")
def default_config():
    """config/config.yaml with the schema's defaults, and an estimate setup."""
    import yaml

    from coralbuild import workflow

    config = yaml.safe_load((PROJECT / "config/config.yaml").read_text())
    config["benchmark"] = {**config.get("benchmark", {}), "devices": ["cpu", "usb:0", "pci"], "estimate": ["usb3_desktop"]}
    workflow.validate_config(config, PROJECT / "config/schema.yaml")
    return config


@pytest.mark.parametrize("name", sorted(targets.TARGETS))
@pytest.mark.parametrize("compiled", [True, False])
def test_each_target_s_command_line_comes_from_the_config_its_stage_declares(default_config, name, compiled):
    """A target's `arguments` get only its stage's settings (a read of any other part fails here
    with a KeyError) and name each of its outputs and the artifacts it runs."""
    from coralbuild.workflow import BenchmarkJob

    target = targets.target(name)
    inputs = {artifact: f"in/{artifact}" for artifact in ("data", "metrics", "int8", "coefficients", "keras", "float32")
              if artifact in target.INPUTS or (artifact in ("keras", "float32") and "trained" in target.INPUTS)}
    inputs.update({"compiled": "in/edgetpu"} if compiled and "compiled" in target.INPUTS else {})
    job = BenchmarkJob("mnist", "cnn", inputs, {key: f"out/{file}" for key, file in target.OUTPUTS.items()},
                       stages.job_settings(default_config, target.RULE, "mnist", "cnn"),
                       "" if compiled else "skipped: no compiler")
    arguments = target.arguments(job)
    assert all(isinstance(argument, str) for argument in arguments)
    line = " ".join(arguments)
    assert all(f"out/{file}" in line for file in target.OUTPUTS.values())
    # Every artifact but the Keras model (the evaluate stage's) and the coefficients (an input so
    # that a refit reruns the estimate; its script finds them itself).
    assert all(path in line for name, path in inputs.items() if name not in ("keras", "coefficients"))
    # Its own entries of the `benchmark` section are passed (a setup by its name), no other target's.
    entries = targets.configured_devices(default_config["benchmark"])
    for entry in entries:
        passed = entry in arguments or entry.split(":", 1)[-1] in arguments
        assert passed == (target_of(entry) is target), entry
    if "compiled" in target.INPUTS and not compiled and target.NEEDS_COMPILE:
        assert "--no-compiled-model=skipped: no compiler" in arguments
