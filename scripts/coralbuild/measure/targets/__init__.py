"""Device targets: the registry of where a model's latency is measured (`benchmark.devices`).

Each target is one module of this package (found by coralbuild/registry.py: a new target needs no line here) with:
    DEVICES        a regular expression that the `benchmark.devices` entries it runs on match whole
    DEVICE_NAMES   how those entries are written, for error messages
    CONFIG_KEY     the `benchmark` key listing its entries: "devices", or its own key, with a
                   devices(values) function turning that key's values into device entries
    NEEDS_COMPILE  whether it runs the compiled model (and so needs the compile stage)
    MEASURES       whether it runs the model: then a runtime of the same name in measure/runtimes/
                   says how the measurement opens a model there
and its benchmark job, from which rules/benchmark.smk generates its rule and coralbuild/stages.py
its stage:
    RULE           the rule's name
    SCRIPT         the script it runs, under scripts/
    CONFIG         the config parts it reads (as a Stage's config: "model", "compile", "benchmark", ...)
    INPUTS         the artifacts it takes, by name (stages.ARTIFACTS: "data", "trained", "metrics",
                   "int8", "compiled", "coefficients")
    OUTPUTS        name -> file name of what it writes in the model's folder; "table" is its rows
    ENVIRONMENT    its conda environment, envs/<ENVIRONMENT>.yaml
    RUNS_ALONE     whether it takes every core, so that no other job disturbs its timings
    RESOURCES      the Snakemake resources it holds (a cluster profile maps them to nodes)
    arguments(job) its script's command line, from a workflow.BenchmarkJob
Declarations only, standard library only: the Snakefile and the reports read them without loading
any interpreter.
"""

import functools
import re

from coralbuild import registry

TARGETS = registry.entries(__name__, __path__)


def target(name):
    return registry.load(TARGETS, name)


def all_targets():
    """Every target's module, in the registry's order."""
    return [target(name) for name in TARGETS]


@functools.lru_cache(maxsize=None)  # asked once per job and entry while the DAG is built
def target_of(device):
    """The target a `benchmark.devices` entry runs on, or None when no target takes it."""
    for name in TARGETS:
        if re.fullmatch(target(name).DEVICES, device):
            return target(name)
    return None


def name_of(target_module):
    return target_module.__name__.rsplit(".", 1)[1]


def targets_of(devices):
    """The targets `devices` ask for, each once, in the registry's order."""
    wanted = {target_of(device).__name__ for device in devices}
    return [target(name) for name in TARGETS if TARGETS[name] in wanted]


def configured_devices(benchmark):
    """Every device entry the `benchmark` config section asks for: `devices`, then the entries of
    the targets that have their own key (the estimate's setups)."""
    devices = list(benchmark["devices"])
    for name in TARGETS:
        own = target(name)
        if own.CONFIG_KEY != "devices":
            devices += own.devices(benchmark.get(own.CONFIG_KEY, []))
    return devices


def own_entries(target_name, devices):
    """The entries of `devices` that the target named `target_name` (its module's __name__) runs on."""
    return [device for device in devices if target_of(device).__name__ == target_name]


def known_devices():
    """How every target's device entries are written, for messages."""
    return "; ".join(f"{name}: {target(name).DEVICE_NAMES}" for name in TARGETS if target(name).CONFIG_KEY == "devices")
