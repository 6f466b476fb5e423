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

from coralbuild.statuses import MEASURED, failed, skipped

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
    except subprocess.TimeoutExpired as timeout:
        stdout, returncode = timeout.stdout or "", None
        stdout = stdout.decode() if isinstance(stdout, bytes) else stdout
    else:
        sys.stderr.write(child.stderr)
        stdout, returncode = child.stdout, child.returncode
    results = [line[len(RESULT_PREFIX):] for line in stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if returncode == 0 and results:
        return json.loads(results[-1])
    if returncode is None:
        failure = f"the measurement did not finish within {timeout_s} s (benchmark.timeout_s)"
    elif returncode < 0:
        failure = f"runtime crashed (signal {-returncode}, {signal.Signals(-returncode).name}); {CRASH_HINT}"
    else:
        last = (child.stderr.strip().splitlines() or ["no output"])[-1]
        failure = f"the measurement exited with status {returncode} ({last})"
    if results:  # the device was measured, what came after failed: keep the figures, say what failed
        row = json.loads(results[-1])
        note = "agreement_reference" if "agreement_reference" in row else "accuracy_note"
        return {**row, note: f"{row[note]}: {failure}"}
    return {"status": failed(failure)}


def measure(request, report):
    """Load the model on the device, time it, and on an Edge TPU also measure its accuracy,
    balanced accuracy and per-class metrics (`class_metrics`, as metrics.json holds them) and its
    top-1 agreement with the int8 model on the CPU (`request["reference"]`), or a detector's mAP on
    the yolo split `request["detections_on"]`. `report(row)` is
    called with the final row, and before the reference run with the figures so far, so that a
    reference run that fails or crashes loses only the agreement."""
    import numpy as np

    from coralbuild.data.prepared import class_names, load_split
    from coralbuild.errors import BadInput
    from coralbuild.measure.benchmarking import seeded_inputs, time_invokes
    from coralbuild.measure.classification import TOP_K, classification_metrics
    from coralbuild.measure.inference import (
        input_fits,
        interpreter_version,
        load_interpreter,
        model_input,
        output_fits,
        predict_labels,
        predict_ranked,
    )
    from coralbuild.measure.runtimes import NoDevice, NoRuntime, runtime
    from coralbuild.measure.targets import name_of, target_of
    from coralbuild.models.input_range import UNIT_RANGE

    facts = {"host_cpu": host_cpu(), "python_version": platform.python_version(), "interpreter": interpreter_version()}
    started = time.perf_counter_ns()
    try:
        opener = runtime(name_of(target_of(request["device"])))
        interpreter, device_facts = opener.open_interpreter(request["model"], request["device"], request["threads"])
        facts.update(device_facts)
    except (NoRuntime, NoDevice) as missing:
        kind = "no_runtime" if isinstance(missing, NoRuntime) else "no_device"
        return {"status": skipped(missing), "missing": kind, **facts}
    load_ms = (time.perf_counter_ns() - started) / 1e6
    input_range = tuple(request.get("input_range", UNIT_RANGE))
    if request.get("data"):  # the test images, as the model takes them
        split = load_split(request["data"])
        images, labels = split["x_test"], split["y_test"]
        misfit = input_fits(interpreter, images.shape[1:])
        if misfit:
            return {"status": skipped(misfit), **facts}
        detail = interpreter.get_input_details()[0]

        def sample(step):
            return [model_input(detail, images[step % len(images)], input_range)]
    else:  # no dataset (a detector brought alone): seeded inputs of the model's own shapes and types
        samples = seeded_inputs(interpreter, input_range)

        def sample(step):
            return samples[step % len(samples)]
    row = {"status": MEASURED, "load_ms": load_ms, **facts,
           **time_invokes(interpreter, sample, request["warmup"], request["iterations"])}
    if request.get("detections_on"):
        # The timings first: a scoring run that fails or outlasts the timeout loses only the mAP.
        report({**row, "accuracy_note": failed("the mAP run on the device did not finish")})
        return {**row, **detection_figures(interpreter, request["detections_on"])}
    if request.get("reference") and request.get("data"):
        classes = class_names(request["data"])
        misfit = output_fits(interpreter, len(classes))
        if misfit:
            return {**row, "agreement_reference": f"not evaluated: {misfit}"}
        ranked = predict_ranked(interpreter, images, input_range, min(TOP_K, len(classes)))
        figures = classification_metrics(labels, ranked, classes)
        row.update(accuracy=figures["accuracy"], balanced_accuracy=figures["balanced_accuracy"], class_metrics=figures,
                   agreement_reference=failed("the int8 reference run on the CPU did not finish"))
        report(row)
        try:
            reference = predict_labels(load_interpreter(request["reference"]), images, input_range)
        except (BadInput, RuntimeError, ValueError) as error:
            row.update(agreement_reference=failed(f"the int8 reference run on the CPU: {error}"))
        else:
            row.update(agreement=float(np.mean(ranked[:, 0] == reference)), agreement_reference="int8 on cpu")
    return row


def detection_figures(interpreter, data_folder):
    """A detector's mAP on the prepared yolo split at `data_folder`, as the evaluate stage measures
    the int8 model's on the CPU (measure/detection.py), or why it has none."""
    from coralbuild.measure.detection import DECODED_HEADS, coco_map, detect_split, head_of
    from coralbuild.statuses import not_measured

    head = head_of(interpreter.get_input_details(), interpreter.get_output_details())
    if head is None:  # every head head_of recognises is decoded
        return {"accuracy_note": not_measured(f"its outputs match no head whose mAP is computed "
                                              f"(decoded: {', '.join(DECODED_HEADS)})")}
    ground_truth, found = detect_split(interpreter, head["kind"], data_folder)
    return coco_map(ground_truth, found)


def host_cpu():
    """The CPU's model name (Linux: /proc/cpuinfo), else what the platform reports."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def report(row):
    print(RESULT_PREFIX + json.dumps(row), flush=True)


def main(request):
    from coralbuild.errors import BadInput

    try:
        report(measure(request, report))
    except BadInput as error:
        report({"status": failed(error)})


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
