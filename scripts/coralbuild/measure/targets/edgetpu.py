"""A Coral Edge TPU (USB or PCIe): the compiled model, through pycoral or the runtime library's
delegate (measure/runtimes/edgetpu.py)."""

DEVICES = r"usb(:[0-9]+)?|pci(:[0-9]+)?|:[0-9]+"
DEVICE_NAMES = "usb, usb:N, pci, pci:N, :N (as pycoral names Edge TPU devices)"
CONFIG_KEY = "devices"  # the benchmark key that lists its entries
NEEDS_COMPILE = True
MEASURES = True  # runs the model (through its runtime in measure/runtimes/)

# Its benchmark job (one rule, generated in rules/benchmark.smk, and its stage).
RULE = "benchmark_edgetpu"
SCRIPT = "benchmark.py"
# The keys that decide whether a compiled model can exist (edgetpu.compiler.find_compiler), the
# timing settings. Not the rest of `compile`: a compiled model that changes reruns it as an input.
CONFIG = ("compile.compiler", "compile.container_image", "benchmark")
INPUTS = ("data", "int8", "compiled")  # the int8 model is the reference of the agreement
OUTPUTS = {
    "table": "benchmark_edgetpu.csv",
    # Per device, the compiled model's per-class metrics and confusion matrix (as in metrics.json).
    "class_metrics": "metrics_edgetpu.json",
}
ENVIRONMENT = "coral"
RUNS_ALONE = True  # it times: no other job beside it
RESOURCES = {"edgetpu": 1}  # a cluster profile sends it to a node with a device


def arguments(job):
    """The benchmark script's command line (job: workflow.BenchmarkJob)."""
    compiled = (f"--edgetpu-folder={job.input['compiled']}" if "compiled" in job.input
                else f"--no-compiled-model={job.no_compiled_model}")
    return [*job.benchmark_options(__name__), compiled, "--reference", job.input["int8"],
            "--settings", job.settings_json("benchmark"), "--output", job.output["table"],
            "--class-metrics", job.output["class_metrics"]]
