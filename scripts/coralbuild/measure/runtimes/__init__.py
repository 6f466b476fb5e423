"""Runtimes: how a device target (measure/targets/) opens a model, one module per target, named as
the target (the measurement finds them by name). Each has:
    open_interpreter(model_path, device, threads)   in the measurement's child process: the
        interpreter with tensors allocated, and the row's device facts (device_name,
        edgetpu_runtime, edgetpu_access); raises NoRuntime or NoDevice when the device cannot be
        reached, which the row reports as skipped.
Kept apart from the targets' declarations, which the planning and the reports read without the
interpreters these modules load. Runs in Coral's Python 3.9 environment too.
"""

from coralbuild import registry

RUNTIMES = registry.entries(__name__, __path__)


class NoRuntime(Exception):
    """The runtime library of a device cannot be loaded."""


class NoDevice(Exception):
    """The runtime loads, but the requested device is not there."""


def runtime(target_name):
    return registry.load(RUNTIMES, target_name)
