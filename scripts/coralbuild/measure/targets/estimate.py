"""The Edge TPU latency estimated for a named host setup, without a device (measure/estimate/):
rows `device: estimate:<setup>`, `status: estimated`. Its entries come from `benchmark.estimate`
(the setups), not from `benchmark.devices`."""

DEVICES = r"estimate:[a-z0-9_]+"
DEVICE_NAMES = "estimate:<setup> (set by benchmark.estimate, not benchmark.devices)"
CONFIG_KEY = "estimate"  # the benchmark key that lists its entries
NEEDS_COMPILE = False  # it reads the compiled model where one was made, else the int8 model
MEASURES = False  # estimates: no runtime opens a model for it

# Its job (one rule, generated in rules/benchmark.smk, and its stage): not a measurement.
RULE = "estimate_edgetpu"
SCRIPT = "estimate_edgetpu_latency.py"
# The keys that decide whether a compiled model can exist (edgetpu.compiler.find_compiler), the
# setups. Not the rest of `compile`: a compiled model that changes reruns it as an input.
CONFIG = ("compile.compiler", "compile.container_image", "benchmark.estimate")
INPUTS = ("int8", "compiled", "coefficients")  # the fitted coefficients: a refit reruns it
OUTPUTS = {"table": "estimate_edgetpu.csv"}
ENVIRONMENT = "litert"
RUNS_ALONE = False  # it times nothing on the host that matters to its figures
RESOURCES = {}


def devices(setups):
    return [f"estimate:{setup}" for setup in setups]


def arguments(job):
    """The estimate script's command line (job: workflow.BenchmarkJob)."""
    compiled = [f"--compiled-folder={job.input['compiled']}"] if "compiled" in job.input else []
    return [job.input["int8"], *compiled, "--setup", *job.settings["estimate"], "--record-of", job.dataset, job.model,
            "--output", job.output["table"]]
