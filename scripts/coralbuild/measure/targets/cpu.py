"""The host's CPU: the float32 and int8 models through the LiteRT interpreter."""

DEVICES = r"cpu"
DEVICE_NAMES = "cpu"
CONFIG_KEY = "devices"  # the benchmark key that lists its entries
NEEDS_COMPILE = False
MEASURES = True  # runs the model (through its runtime in measure/runtimes/)

# Its benchmark job (one rule, generated in rules/benchmark.smk, and its stage).
RULE = "benchmark_cpu"
SCRIPT = "benchmark.py"
CONFIG = ("model", "benchmark")  # the model's pixel range, the timing settings
INPUTS = ("data", "trained", "metrics", "int8")  # the accuracies of the evaluate stage go in its rows
OUTPUTS = {"table": "benchmark_cpu.csv"}
ENVIRONMENT = "litert"
RUNS_ALONE = True  # it times: no other job beside it
RESOURCES = {}


def arguments(job):
    """The benchmark script's command line (job: workflow.BenchmarkJob)."""
    tflite = [f"{name}={job.input[name]}" for name in ("float32", "int8") if name in job.input]
    return [*job.benchmark_options(__name__), "--metrics", job.input["metrics"], "--tflite", *tflite,
            "--input-range", *job.input_range(), "--settings", job.settings_json("benchmark"),
            "--output", job.output["table"]]
