"""The host's CPU: the float32 and int8 models through the LiteRT interpreter."""

DEVICES = r"cpu"
DEVICE_NAMES = "cpu"
RULE = "benchmark_cpu"
NEEDS_COMPILE = False

