"""The Edge TPU latency estimated for a named host setup, without a device (measure/estimate/):
rows `device: estimate:<setup>`, `status: estimated`. Its entries come from `benchmark.estimate`
(the setups), not from `benchmark.devices`."""

DEVICES = r"estimate:[a-z0-9_]+"
DEVICE_NAMES = "estimate:<setup> (set by benchmark.estimate, not benchmark.devices)"
RULE = "estimate_edgetpu"
NEEDS_COMPILE = False  # it reads the compiled model where one was made, else the int8 model
CONFIG_KEY = "estimate"  # the benchmark key that lists its entries
MEASURES = False  # estimates: no runtime opens a model for it


def devices(setups):
    return [f"estimate:{setup}" for setup in setups]
