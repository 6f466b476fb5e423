"""A Coral Edge TPU (USB or PCIe): the compiled model, through pycoral or the runtime library's
delegate (measure/runtimes/edgetpu.py)."""

DEVICES = r"usb(:[0-9]+)?|pci(:[0-9]+)?|:[0-9]+"
DEVICE_NAMES = "usb, usb:N, pci, pci:N, :N (as pycoral names Edge TPU devices)"
RULE = "benchmark_edgetpu"
NEEDS_COMPILE = True
CONFIG_KEY = "devices"  # the benchmark key that lists its entries
MEASURES = True  # runs the model (through its runtime in measure/runtimes/)
