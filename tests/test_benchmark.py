"""The benchmark script: rows measured in child processes, and precise statuses without a device.

There is no Coral device here. The no-device path runs against Coral's real libedgetpu
(tests/data/runtime) and against a STAND-IN (tests/stand_in/libedgetpu_stand_in.c, built with
gcc), which also crashes with SIGSEGV on demand, for the crash case.
"""

import ctypes.util
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import MNIST, PROJECT, SCRIPTS, run_script, write_prepared
from coralbuild.data.idx_reader import read_idx
from coralbuild.reporting.table import MEASUREMENT_COLUMNS

INT8 = PROJECT / "tests/data/cnn_int8.tflite"
FIGURES = ["load_ms", "first_invoke_ms", "median_ms", "mean_ms", "p90_ms", "p99_ms", "min_ms", "std_ms", "accuracy"]
SETTINGS = {"devices": ["cpu", "usb"], "require_device": False, "threads": 1, "warmup": 3, "iterations": 30, "timeout_s": 120}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    images = read_idx(MNIST / "t10k-images-idx3-ubyte.gz", 3)[:300]
    labels = read_idx(MNIST / "t10k-labels-idx1-ubyte.gz", 1)[:300]
    return write_prepared(tmp_path_factory.mktemp("data") / "data", {
        "x_train": images[:200], "y_train": labels[:200], "x_val": images[200:250], "y_val": labels[200:250],
        "x_test": images, "y_test": labels}, classes=[str(digit) for digit in range(10)])


@pytest.fixture
def compiled_folder(tmp_path):
    """A compile folder as the compile stage leaves it (model: the int8 model itself, enough for
    tests that stop before the model is run on a device)."""
    folder = tmp_path / "edgetpu"
    folder.mkdir()
    shutil.copy(INT8, folder / "model_int8_edgetpu.tflite")
    (folder / "compile.json").write_text(json.dumps({"status": "compiled"}))
    return folder


@pytest.fixture(scope="module")
def stand_in_runtime(tmp_path_factory):
    if not shutil.which("gcc"):
        pytest.skip("gcc is needed to build the stand-in Edge TPU runtime")
    folder = tmp_path_factory.mktemp("stand-in-runtime")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(folder / "libedgetpu.so.1"),
                    str(PROJECT / "tests/stand_in/libedgetpu_stand_in.c")], check=True)
    return folder


def benchmark(tmp_path, data, *extra, settings=SETTINGS, **variables):
    output = tmp_path / "rows.csv"
    result = run_script("benchmark.py", "--dataset", "d", "--model", "m", "--data", data,
                        "--devices", *settings["devices"], "--settings", json.dumps(settings),
                        "--output", output, *extra, **variables)
    return result, pd.read_csv(output) if output.exists() else None


def cpu_arguments(tmp_path):
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"artifacts": {"int8": {"accuracy": 0.9, "balanced_accuracy": 0.88,
                                                          "agreement_with_keras": 0.95}}}))
    return ["--tflite", f"int8={INT8}", "--metrics", metrics]


def row(table, artifact, device):
    return table[(table.artifact == artifact) & (table.device == device)].iloc[0]


def test_cpu_rows_are_real_measurements(tmp_path, data):
    result, table = benchmark(tmp_path, data, *cpu_arguments(tmp_path), settings={**SETTINGS, "devices": ["cpu"]})
    assert result.returncode == 0, result.stderr
    assert list(table.columns) == MEASUREMENT_COLUMNS
    cpu = row(table, "int8", "cpu")
    assert cpu.status == "measured" and cpu.iterations == 30 and cpu.warmup == 3
    assert 0 < cpu.min_ms <= cpu.median_ms <= cpu.p90_ms <= cpu.p99_ms <= cpu.max_ms
    assert cpu.first_invoke_ms > 0 and cpu.load_ms > 0 and cpu.throughput_per_s > 0
    assert cpu.size_bytes == INT8.stat().st_size and cpu.agreement_reference == "keras"
    assert (cpu.accuracy, cpu.balanced_accuracy, cpu.agreement) == (0.9, 0.88, 0.95)  # from metrics.json
    assert cpu.interpreter.startswith("ai-edge-litert ") and cpu.python_version == sys.version.split()[0]
    assert isinstance(cpu.host_cpu, str) and cpu.host_cpu


def test_without_a_runtime_library_the_edgetpu_row_says_so_and_holds_no_numbers(tmp_path, data, compiled_folder):
    result, table = benchmark(tmp_path, data, "--edgetpu-folder", compiled_folder, "--reference", INT8,
                              "--class-metrics", tmp_path / "metrics_edgetpu.json",
                              LD_LIBRARY_PATH=str(tmp_path))  # a folder without the library
    assert result.returncode == 0, result.stderr
    edgetpu = row(table, "edgetpu", "usb")
    assert edgetpu.status.startswith("skipped: no Edge TPU runtime library (libedgetpu.so.1")
    assert edgetpu[FIGURES].isna().all()
    # No per-class metrics either: the file says why, per device.
    assert json.loads((tmp_path / "metrics_edgetpu.json").read_text()) == {
        "classes": [str(digit) for digit in range(10)], "devices": {"usb": {"status": edgetpu.status}}}


def test_a_measured_edgetpu_row_has_balanced_accuracy_and_per_class_metrics(tmp_path, data, compiled_folder,
                                                                            monkeypatch):
    """No device here: the Edge TPU's measurement runs on the CPU (the compiled model is the int8
    model), the rest of the script as it is."""
    import benchmark as script

    from coralbuild.data.prepared import load_split
    from coralbuild.measure.classification import classification_metrics
    from coralbuild.measure.inference import load_interpreter, predict_ranked

    on_cpu = script.measure_in_child
    monkeypatch.setattr(script, "measure_in_child", lambda request, timeout_s: on_cpu({**request, "device": "cpu"}, timeout_s))
    output, class_metrics = tmp_path / "rows.csv", tmp_path / "metrics_edgetpu.json"
    script.main(["--dataset", "d", "--model", "m", "--data", str(data), "--devices", "usb", "--settings",
                 json.dumps(SETTINGS), "--edgetpu-folder", str(compiled_folder), "--reference", str(INT8),
                 "--class-metrics", str(class_metrics), "--output", str(output)])
    split = load_split(data)
    expected = classification_metrics(split["y_test"], predict_ranked(load_interpreter(INT8), split["x_test"], (0.0, 1.0), 5),
                                      [str(digit) for digit in range(10)])
    edgetpu = row(pd.read_csv(output), "edgetpu", "usb")
    assert edgetpu.status == "measured" and edgetpu.agreement == 1.0 and edgetpu.agreement_reference == "int8 on cpu"
    assert edgetpu.accuracy == pytest.approx(expected["accuracy"])
    assert edgetpu.balanced_accuracy == pytest.approx(expected["balanced_accuracy"])
    assert json.loads(class_metrics.read_text())["devices"]["usb"] == expected


@pytest.fixture(scope="module")
def coral_runtime():
    """Coral's real libedgetpu (tests/data/runtime), where this machine can load it."""
    if platform.machine() != "x86_64" or not ctypes.util.find_library("usb-1.0"):
        pytest.skip("Coral's x86-64 libedgetpu needs an x86-64 machine with Debian's libusb-1.0-0 "
                    "(apt-get install libusb-1.0-0)")
    return PROJECT / "tests/data/runtime"


@pytest.mark.parametrize("library", ["Coral's", "stand-in"])
def test_runtime_without_a_device_says_so(tmp_path, data, compiled_folder, request, library):
    if library == "Coral's":
        variables = {"LD_LIBRARY_PATH": str(request.getfixturevalue("coral_runtime"))}
    else:
        variables = {"LD_LIBRARY_PATH": str(request.getfixturevalue("stand_in_runtime")), "STAND_IN_RUNTIME": "no_device"}
    result, table = benchmark(tmp_path, data, "--edgetpu-folder", compiled_folder, "--reference", INT8, **variables)
    assert result.returncode == 0, result.stderr
    edgetpu = row(table, "edgetpu", "usb")
    assert edgetpu.status == "skipped: Edge TPU runtime library libedgetpu.so.1 loaded but no Edge TPU device usb found"
    assert edgetpu[FIGURES].isna().all()


def test_a_crashing_runtime_fails_its_row_only(tmp_path, data, compiled_folder, stand_in_runtime):
    settings = {**SETTINGS, "devices": ["cpu", "usb", "pci:0"]}
    result, table = benchmark(tmp_path, data, *cpu_arguments(tmp_path), "--edgetpu-folder", compiled_folder,
                              "--reference", INT8, settings=settings,
                              LD_LIBRARY_PATH=str(stand_in_runtime), STAND_IN_RUNTIME="crash")
    assert result.returncode == 0, result.stderr
    for device in ("usb", "pci:0"):
        crashed = row(table, "edgetpu", device)
        assert crashed.status.startswith("failed: runtime crashed (signal 11, SIGSEGV)")
        assert crashed[FIGURES].isna().all()
    assert row(table, "int8", "cpu").status == "measured"


def test_no_compiled_model_is_its_own_status(tmp_path, data):
    folder = tmp_path / "edgetpu"
    folder.mkdir()
    (folder / "compile.json").write_text(json.dumps({"status": "failed: the compiler says 'Model not quantized'"}))
    _, table = benchmark(tmp_path, data, "--edgetpu-folder", folder, "--reference", INT8)
    assert row(table, "edgetpu", "usb").status == "skipped: no compiled model (compile failed: the compiler says 'Model not quantized')"
    _, table = benchmark(tmp_path, data, "--no-compiled-model", "skipped: no edgetpu_compiler on PATH", "--reference", INT8)
    assert row(table, "edgetpu", "usb").status == "skipped: no compiled model (compile skipped: no edgetpu_compiler on PATH)"


def test_a_required_device_that_is_missing_fails_the_run(tmp_path, data, compiled_folder):
    result, table = benchmark(tmp_path, data, "--edgetpu-folder", compiled_folder, "--reference", INT8,
                              settings={**SETTINGS, "require_device": True}, LD_LIBRARY_PATH=str(tmp_path))
    assert result.returncode == 1 and table is None
    assert result.stderr.strip().splitlines()[-1].startswith("error: no Edge TPU runtime library")
    assert "(benchmark.require_device is true)" in result.stderr


def test_a_compiled_model_given_to_the_cpu_benchmark_fails_its_row(tmp_path, data, stand_in_compiler):
    compile_result = run_script("compile_edgetpu.py", "--model", INT8, "--output", tmp_path / "compiled", "--settings",
                                json.dumps({"compiler": "auto", "min_runtime_version": 13, "search_delegate": False,
                                            "timeout_s": 30, "extra_args": []}), path_first=[stand_in_compiler])
    assert compile_result.returncode == 0, compile_result.stderr
    compiled = tmp_path / "compiled/cnn_int8_edgetpu.tflite"
    _, table = benchmark(tmp_path, data, "--tflite", f"edgetpu={compiled}", settings={**SETTINGS, "devices": ["cpu"]})
    failed = row(table, "edgetpu", "cpu")
    assert failed.status.startswith("failed: ") and "edgetpu-custom-op" in failed.status
    assert failed[FIGURES].isna().all()


@pytest.fixture(scope="module")
def python39(tmp_path_factory):
    """A Python 3.9 environment with tflite-runtime, as in Coral's stack (envs/coral.yaml)."""
    candidates = [*Path.home().glob(".pyenv/versions/3.9*/bin/python3.9"), shutil.which("python3.9")]
    interpreter = next((path for path in candidates if path and subprocess.run(
        [str(path), "-c", "pass"], capture_output=True).returncode == 0), None)
    if not interpreter:
        pytest.skip("no Python 3.9 here (Coral's pycoral stack needs it)")
    venv = tmp_path_factory.mktemp("py39") / "venv"
    subprocess.run([str(interpreter), "-m", "venv", str(venv)], check=True)
    install = subprocess.run([str(venv / "bin/pip"), "install", "-q", "tflite-runtime==2.14.0", "numpy==1.26.4",
                              "pandas==2.2.3", "pillow==11.3.0", "pycocotools==2.0.11"], capture_output=True, text=True)
    if install.returncode != 0:
        pytest.skip(f"cannot install tflite-runtime for Python 3.9: {install.stderr.strip()[-200:]}")
    return venv / "bin/python"


def test_benchmark_runs_on_python39_with_tflite_runtime(tmp_path, data, python39):
    output = tmp_path / "rows.csv"
    settings = {**SETTINGS, "devices": ["cpu", "usb"]}
    result = subprocess.run([str(python39), str(PROJECT / "scripts/benchmark.py"), "--dataset", "d", "--model", "m",
                             "--data", str(data), "--devices", "cpu", "usb", "--settings", json.dumps(settings),
                             "--no-compiled-model", "skipped: test", "--reference", str(INT8),
                             *map(str, cpu_arguments(tmp_path)), "--output", str(output)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    table = pd.read_csv(output)
    cpu = row(table, "int8", "cpu")
    assert cpu.status == "measured" and cpu.interpreter.startswith("tflite-runtime 2.14") and cpu.python_version.startswith("3.9")


def test_python39_modules_run_their_pairings(data, python39):
    """What the Edge TPU benchmark runs in Coral's Python 3.9 stack beyond the CPU row above: the
    Edge TPU runtime's imports, the compiled model's per-class metrics, and reads of several test
    images at once (no zip(strict=), which 3.9 lacks; pyproject.toml has ruff check these modules
    as 3.9 code)."""
    probe = f"""
import sys
sys.path.insert(0, {str(PROJECT / "scripts")!r})
import numpy as np
from coralbuild.data.prepared import class_names, load_split
from coralbuild.measure.classification import classification_metrics, ranked_classes
from coralbuild.measure.runtimes import runtime
runtime("edgetpu")  # the Edge TPU runtime's imports (load_delegate from tflite_runtime), with no device
split = load_split({str(data)!r})
images, labels, classes = split["x_test"][[0, 2, 3]], split["y_test"], class_names({str(data)!r})
scores = np.random.default_rng(0).random((len(labels), len(classes)))
figures = classification_metrics(labels, ranked_classes(scores, min(5, len(classes))), classes)
print(len(images), len(figures["per_class"]), sys.version_info[:2])
"""
    result = subprocess.run([str(python39), "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    count, classes, version = result.stdout.split(maxsplit=2)
    assert (count, version.strip()) == ("3", "(3, 9)") and int(classes) > 1


def test_python39_scores_a_detector_as_the_device_measurement_does(tmp_path, python39):
    """A detector's mAP on the Edge TPU is computed in Coral's Python 3.9 stack (no TensorFlow):
    letterbox, decoding, the numpy NMS and pycocotools there, on a stand-in interpreter with known
    boxes (1.0) and on tflite-runtime's running a real YOLOv8n (figures, whatever they are)."""
    from stand_in.constant_detector import letterboxed
    from test_detection_models import FLOAT_IO, GENERATED, prepare_yolo, write_yolo_dataset

    (tmp_path / "dataset").mkdir()
    write_yolo_dataset(tmp_path / "dataset", names=[f"class{index}" for index in range(8)])
    assert prepare_yolo(tmp_path).returncode == 0
    known = [letterboxed(boxes, *size) for size, boxes in GENERATED.values()]
    probe = f"""
import json, sys
import numpy as np
sys.path.insert(0, {str(PROJECT / "scripts")!r})
sys.path.insert(0, {str(PROJECT / "tests")!r})
from tflite_runtime.interpreter import Interpreter
from coralbuild.measure.measurement import detection_figures
from stand_in.constant_detector import ConstantDetector
known = detection_figures(ConstantDetector({known!r}, anchors=84), {str(tmp_path / "data")!r})
real = Interpreter({str(FLOAT_IO)!r})
real.allocate_tensors()
print(json.dumps([known, detection_figures(real, {str(tmp_path / "data")!r}), list(sys.version_info[:2])]))
"""
    result = subprocess.run([str(python39), "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    known, real, version = json.loads(result.stdout.strip().splitlines()[-1])
    assert known == {"map50": 1.0, "map50_95": 1.0} and version == [3, 9]
    assert set(real) == {"map50", "map50_95"} and all(0.0 <= value <= 1.0 for value in real.values())


def reference_request(data, reference):
    """A measurement with an agreement reference (the Edge TPU's request, here on the CPU: the
    reference run comes after the device's figures on any device)."""
    return {"model": str(INT8), "device": "cpu", "data": str(data), "reference": str(reference),
            "input_range": [0.0, 1.0], "threads": 1, "warmup": 1, "iterations": 5}


def test_a_failing_reference_run_keeps_the_measured_figures(tmp_path, data):
    from coralbuild.measure.measurement import measure_in_child

    broken = tmp_path / "reference.tflite"
    broken.write_bytes(b"not a model")
    row = measure_in_child(reference_request(data, broken), timeout_s=120)
    assert row["status"] == "measured" and row["median_ms"] > 0 and 0 <= row["accuracy"] <= 1
    assert row.get("agreement") is None
    assert row["agreement_reference"].startswith(f"failed: the int8 reference run on the CPU: {broken}")


def test_a_reference_run_that_hangs_keeps_the_measured_figures(tmp_path, data, monkeypatch):
    """The reference's loading hangs (a sitecustomize in the child's path makes it sleep) until
    the timeout kills the child. (A FIFO no longer hangs: the readers refuse anything but files.)"""
    from coralbuild.measure.measurement import measure_in_child

    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import time\n"
        "import coralbuild.measure.inference as inference\n"
        "original = inference.load_interpreter\n"
        "def hanging(path, *args, **kwargs):\n"
        "    if str(path).endswith('reference.tflite'):\n"
        "        time.sleep(3600)\n"
        "    return original(path, *args, **kwargs)\n"
        "inference.load_interpreter = hanging\n")
    monkeypatch.setenv("PYTHONPATH", f"{hook}{os.pathsep}{SCRIPTS}")
    reference = tmp_path / "reference.tflite"
    reference.write_bytes((PROJECT / "tests/data/cnn_int8.tflite").read_bytes())
    # The measurement before the reference takes well under a second (the failing reference's test
    # above, all included): 8 s leaves it room on a busy machine, and is all this test waits.
    row = measure_in_child(reference_request(data, reference), timeout_s=8)
    assert row["status"] == "measured" and row["median_ms"] > 0 and row.get("agreement") is None
    assert row["agreement_reference"] == ("failed: the int8 reference run on the CPU did not finish: "
                                          "the measurement did not finish within 8 s (benchmark.timeout_s)")
