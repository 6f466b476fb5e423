"""The Edge TPU latency estimate (coralbuild/measure/estimate/, scripts/estimate_edgetpu_latency.py):
its features, its terms, its calibration and its one-line refusals."""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from conftest import PROJECT, run_script
from coralbuild.edgetpu import placement
from coralbuild.edgetpu.tflite_model import read_tflite
from coralbuild.errors import BadInput
from coralbuild.measure.estimate import calibration, cpu_part, features, terms
from coralbuild.measure.estimate.estimator import estimate
from coralbuild.measure.estimate.setups import calibrated

DATA = PROJECT / "tests/data"
CNN = DATA / "cnn_int8.tflite"
DEEPLAB = DATA / "reference-models/deeplabv3_mnv2_dm05_pascal_quant"
POSENET = DATA / "reference-models/posenet_mobilenet_v1_075_353_481_16_quant_decoder"


def test_a_model_without_cpu_ops_is_estimated_the_same_every_time():
    runs = [run_script("estimate_edgetpu_latency.py", CNN, "--json") for _ in range(2)]
    assert all(run.returncode == 0 for run in runs), runs[0].stderr
    first, second = (json.loads(run.stdout) for run in runs)
    assert first == second and first["status"] == "estimated"
    assert [item["setup"] for item in first["estimates"]] == list(calibrated())
    for item in first["estimates"]:
        assert item["low_ms"] <= item["median_ms"] <= item["high_ms"]
        assert sum(item["terms_ms"].values()) == pytest.approx(item["median_ms"], abs=1e-3)


def test_streamed_parameters_cost_their_bytes_over_the_setups_link():
    fitted = features.int8_features(CNN)
    prediction = placement.predict(read_tflite(CNN))
    # The same model, as if its parameters did not fit the cache: all of them stream.
    streaming = dataclasses.replace(prediction, parameter_bytes=placement.CACHE_BYTES + 1_000_000)
    streamed = features.int8_features(CNN, streaming)
    assert fitted.streamed_bytes == 0 and streamed.streamed_bytes == 1_000_000  # what the cache does not hold
    for setup, settings in calibrated().items():
        per_mb = settings["coefficients"]["streamed_ms_per_mb"]
        slower = estimate(streamed, setup).median_ms - estimate(fitted, setup).median_ms
        assert slower == pytest.approx(per_mb * streamed.streamed_bytes / terms.MB, abs=1e-3)
    assert calibrated()["usb3_desktop"]["coefficients"]["streamed_ms_per_mb"] > 0


def test_the_ops_left_on_the_cpu_are_cut_out_and_timed_beside_the_reference():
    compiled = Path(f"{DEEPLAB}_edgetpu.tflite")
    model = read_tflite(compiled)
    cpu = [index for index, op in enumerate(model.operators) if op.name != "edgetpu-custom-op"]
    part = schema.ModelT.InitFromPackedBuf(bytearray(cpu_part.cpu_part(compiled.read_bytes(), cpu)), 0)
    codes = [part.operatorCodes[op.opcodeIndex].builtinCode for op in part.subgraphs[0].operators]
    assert len(codes) == len(cpu) == 8  # resize, quantize, concatenation, 2 convolutions, 2 resizes, argmax
    measured = features.compiled_features(compiled, Path(f"{DEEPLAB}.tflite"))
    assert measured.cpu_ms > 0 and measured.cpu_untimed == []
    # The reference is this very CPU part: its time in the reference's units is about 1.
    assert 0.7 < measured.cpu_relative < 1.4
    for setup, settings in calibrated().items():
        result = estimate(measured, setup)
        expected = settings["coefficients"]["cpu_ms_per_reference"] * measured.cpu_relative
        assert result.terms_ms["cpu_ms_per_reference"] == pytest.approx(expected, abs=1e-3) and expected > 0
        assert result.bound == "ops on the CPU"


def test_a_custom_op_without_a_kernel_here_is_named_not_timed():
    measured = features.compiled_features(Path(f"{POSENET}_edgetpu.tflite"), Path(f"{POSENET}.tflite"))
    assert measured.cpu_ops == ["PosenetDecoderOp"] and measured.cpu_untimed == ["PosenetDecoderOp"]
    assert measured.cpu_ms == 0.0
    shown = run_script("estimate_edgetpu_latency.py", f"{POSENET}_edgetpu.tflite", "--setup", "usb3_desktop")
    assert shown.returncode == 0 and "not timed" in shown.stdout and "PosenetDecoderOp" in shown.stdout


def test_the_compiled_package_gives_what_crosses_the_link():
    measured = features.compiled_features(Path(f"{DEEPLAB}_edgetpu.tflite"), Path(f"{DEEPLAB}.tflite"))
    assert measured.basis == features.COMPILED and measured.segments == 1
    assert measured.transfer_bytes == 513 * 513 * 3 + 33 * 33 * 256 + 256  # input; the two outputs
    assert measured.streamed_bytes == 0 and measured.instruction_bytes > 0
    assert measured.edgetpu_macs > 0


def float_copy(folder):
    """cnn_int8.tflite with every tensor typed float32: a float model as far as any reader can tell."""
    model = schema.ModelT.InitFromPackedBuf(bytearray(CNN.read_bytes()), 0)
    for tensor in model.subgraphs[0].tensors:
        tensor.type = schema.TensorType.FLOAT32
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path = folder / "float.tflite"
    path.write_bytes(bytes(builder.Output()))
    return path


@pytest.mark.parametrize("case, words", [
    ("unknown setup", "--setup: unknown setup 'laptop' (calibrated setups: usb3_desktop)"),
    ("setup too weakly calibrated", "--setup: setup 'devboard' is not offered: its calibration is too weak (deeplabv3"),
    ("float model", "a float model (no int8 tensor)"),
    ("no segment", "no Edge TPU segment is predicted"),
    ("compiled without its source", "a compiled model needs the model it was compiled from"),
])
def test_bad_input_is_one_line(tmp_path, case, words):
    compiled_alone = tmp_path / "alone_edgetpu.tflite"
    compiled_alone.write_bytes(Path(f"{DEEPLAB}_edgetpu.tflite").read_bytes())
    args = {"unknown setup": [CNN, "--setup", "laptop"], "setup too weakly calibrated": [CNN, "--setup", "devboard"],
            "float model": [float_copy(tmp_path)],
            "no segment": [DATA / "fixtures/flatten_dynamic_batch.tflite"],
            "compiled without its source": [compiled_alone]}[case]
    result = run_script("estimate_edgetpu_latency.py", *args)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], result.stderr


def test_in_the_workflow_a_model_with_nothing_to_estimate_is_a_skipped_row(tmp_path):
    output = tmp_path / "estimate.csv"
    result = run_script("estimate_edgetpu_latency.py", DATA / "fixtures/flatten_dynamic_batch.tflite", "--setup",
                        "usb3_desktop", "--record-of", "d", "m", "--output", output)
    assert result.returncode == 0, result.stderr
    import pandas as pd

    row = pd.read_csv(output).iloc[0]
    assert row.device == "estimate:usb3_desktop" and row.status.startswith("skipped: ")
    assert "no Edge TPU segment" in row.status and np.isnan(row.median_ms)


def test_the_stored_coefficients_are_the_fit_of_the_stored_calibration():
    """benchmarks/calibrate_latency.py --check refits every setup from the features it stored and
    fails if any coefficient differs: none is typed by hand."""
    result = subprocess.run([sys.executable, str(PROJECT / "benchmarks/calibrate_latency.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "usb3_desktop" in result.stdout and "leave-one-out median" in result.stdout


def test_the_usb3_desktop_calibration_meets_the_acceptance_when_each_model_is_left_out():
    """At least 6 models per basis; median |error| at most 20% with a compiled package and 30% from
    the int8 model; the band holds the published figure for at least 80% of the models."""
    settings = calibrated()["usb3_desktop"]
    for basis, limit in ((features.COMPILED, 0.20), (features.INT8, 0.30)):
        rows = [row for row in settings["leave_one_out"] if row["basis"] == basis]
        low, high = settings["band"][basis]
        held = [low <= row["published_ms"] / row["estimate_ms"] <= high for row in rows]
        assert len(rows) >= 6
        assert np.median([abs(row["error"]) for row in rows]) <= limit
        assert sum(held) >= 0.8 * len(rows)


def test_a_refit_moves_each_coefficient_the_way_its_feature_says():
    """The fit is scipy's non-negative least squares on relative errors: on made-up models whose
    latency is exactly 1 ms + 2 ms per GMAC, it finds those two terms and nothing else."""
    rows = [{"transfer_bytes": 10_000 * n, "streamed_bytes": 0, "edgetpu_macs": n * 1e9 / 4, "cpu_relative": 0.0}
            for n in range(1, 8)]
    fitted = calibration.fit(rows, [1 + 2 * row["edgetpu_macs"] / 1e9 for row in rows])
    assert fitted["fixed_ms"] == pytest.approx(1, rel=1e-6) and fitted["ms_per_gmac"] == pytest.approx(2, rel=1e-6)
    assert fitted["transfer_ms_per_mb"] == pytest.approx(0, abs=1e-6)


def test_an_unknown_setup_is_refused_before_any_model_is_read():
    with pytest.raises(BadInput, match="setup: unknown setup 'nope'"):
        estimate(features.Features(features.INT8, 0, 0, 0, 0, 0.0, 0.0), "nope")
