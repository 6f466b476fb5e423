"""The host's CPU: the float32 and int8 models through the LiteRT interpreter."""

DEVICES = r"cpu"
DEVICE_NAMES = "cpu"
RULE = "benchmark_cpu"
NEEDS_COMPILE = False
CONFIG_KEY = "devices"  # the benchmark key that lists its entries
MEASURES = True  # runs the model (through its runtime in measure/runtimes/)
