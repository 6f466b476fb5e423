"""One measurement (a model on one device) in a child process.

A runtime built against another TFLite version can crash the process (segfault inside
libedgetpu); in a child, that costs one row, which says so, and the others are still measured.
Runs in Coral's Python 3.9 environment too: keep the syntax 3.9-compatible.
"""

import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

RESULT_PREFIX = "MEASUREMENT "
CRASH_HINT = ("an Edge TPU runtime built against another TFLite version crashes inside this interpreter; "
              "use a matching pair (Coral's libedgetpu1-std with pycoral 2.0 / tflite-runtime 2.5, see envs/coral.yaml)")


def measure_in_child(request, timeout_s):
    """Run `measure(request)` in a fresh interpreter process; a crash or hang becomes a failed status."""
    scripts = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [scripts, os.environ.get("PYTHONPATH")]))}
    try:
        child = subprocess.run([sys.executable, "-m", "coralbuild.measure.measurement", json.dumps(request)],
                               capture_output=True, text=True, env=env, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return {"status": f"failed: the measurement did not finish within {timeout_s} s (benchmark.timeout_s)"}
    sys.stderr.write(child.stderr)
    if child.returncode < 0:
        name = signal.Signals(-child.returncode).name
        return {"status": f"failed: runtime crashed (signal {-child.returncode}, {name}); {CRASH_HINT}"}
    results = [line[len(RESULT_PREFIX):] for line in child.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if child.returncode != 0 or not results:
        last = (child.stderr.strip().splitlines() or ["no output"])[-1]
        return {"status": f"failed: the measurement exited with status {child.returncode} ({last})"}
    return json.loads(results[-1])


def measure(request):
    """Load the model on the device, time it, and on an Edge TPU also measure its accuracy and
    its top-1 agreement with the int8 model on the CPU (`request["reference"]`)."""
    import numpy as np

    from coralbuild.data.prepared import load_split
    from coralbuild.measure.benchmarking import time_invokes
    from coralbuild.edgetpu.runtime import NoDevice, NoRuntime, open_on_edgetpu
    from coralbuild.measure.inference import input_fits, interpreter_version, load_interpreter, model_input, predict_labels

    split = load_split(request["data"])
    images, labels = split["x_test"], split["y_test"]
    facts = {"host_cpu": host_cpu(), "python_version": platform.python_version(), "interpreter": interpreter_version()}
    started = time.perf_counter_ns()
    try:
        if request["device"] == "cpu":
            interpreter = load_interpreter(request["model"], request["threads"])
            facts.update(device_name="cpu", edgetpu_runtime=None, edgetpu_access=None)
        else:
            interpreter, opened = open_on_edgetpu(request["model"], request["device"], request["threads"])
            facts.update(device_name=opened["device_name"], edgetpu_runtime=opened["edgetpu_runtime_version"],
                         edgetpu_access=opened["runtime"])
    except (NoRuntime, NoDevice) as missing:
        kind = "no_runtime" if isinstance(missing, NoRuntime) else "no_device"
        return {"status": f"skipped: {missing}", "missing": kind, **facts}
    load_ms = (time.perf_counter_ns() - started) / 1e6
    misfit = input_fits(interpreter, images.shape[1:])
    if misfit:
        return {"status": f"skipped: {misfit}", **facts}
    input_range = tuple(request.get("input_range", (0.0, 1.0)))
    detail = interpreter.get_input_details()[0]
    row = {"status": "measured", "load_ms": load_ms, **facts,
           **time_invokes(interpreter, lambda step: model_input(detail, images[step % len(images)], input_range),
                          request["warmup"], request["iterations"])}
    if request.get("reference"):
        predicted = predict_labels(interpreter, images, input_range)
        reference = predict_labels(load_interpreter(request["reference"]), images, input_range)
        row.update(accuracy=float(np.mean(predicted == labels)), agreement=float(np.mean(predicted == reference)),
                   agreement_reference="int8 on cpu")
    return row


def host_cpu():
    """The CPU's model name (Linux: /proc/cpuinfo), else what the platform reports."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(request):
    from coralbuild.errors import BadInput

    try:
        row = measure(request)
    except BadInput as error:
        row = {"status": f"failed: {error}"}
    print(RESULT_PREFIX + json.dumps(row), flush=True)


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
