"""The compiled-model inspector against the five real pairs of ../shared/edgetpu/reference-models."""

import csv
import json

import pytest

from conftest import run_script, shared_path
from coralbuild.edgetpu.inspection import format_ops, inspect_compiled
from coralbuild.errors import BadInput


def truth_rows():
    path = shared_path("edgetpu", "reference-models", "truth.csv")
    return list(csv.DictReader(path.open()))


def pair(model):
    folder = shared_path("edgetpu", "reference-models")
    return folder / f"{model}_edgetpu.tflite", folder / f"{model}.tflite"


@pytest.fixture(scope="module")
def truth():
    return truth_rows()


def test_inspection_agrees_with_truth_for_all_five_pairs(truth):
    assert len(truth) == 5
    for row in truth:
        compiled, source = pair(row["model"])
        inspection = inspect_compiled(compiled, source)
        assert inspection.source_ops == int(row["ops_in_source"]), row["model"]
        assert inspection.ops_total == int(row["ops_in_compiled"]), row["model"]
        assert inspection.edgetpu_segments == int(row["edgetpu_segments"]), row["model"]
        assert inspection.ops_mapped == int(row["ops_not_left_on_cpu"]), row["model"]
        assert format_ops(inspection.ops_on_cpu) == row["ops_left_on_cpu"], row["model"]


def test_package_fields_are_read(truth):
    compiled, _ = pair("split_concat")
    inspection = inspect_compiled(compiled)
    assert inspection.min_runtime_version == 13 and inspection.compiler_versions == ["cl/343520747"]
    assert inspection.source_ops is None and inspection.ops_mapped is None
    for row in truth:
        assert inspect_compiled(pair(row["model"])[0]).min_runtime_version in {12, 13}


def test_command_prints_a_table_and_json():
    compiled, source = pair("deeplabv3_mnv2_dm05_pascal_quant")
    table = run_script("inspect_edgetpu.py", compiled, "--source", source)
    assert table.returncode == 0
    assert "ops left on CPU        8  ARG_MAX x1; CONCATENATION x1; CONV_2D x2; QUANTIZE x1; RESIZE_BILINEAR x3" in table.stdout
    assert "ops mapped             64" in table.stdout
    as_json = json.loads(run_script("inspect_edgetpu.py", compiled, "--json").stdout)
    assert as_json["edgetpu_segments"] == 1 and as_json["ops_cpu"] == 8 and as_json["min_runtime_version"] == 12


def test_a_file_that_is_not_a_model_gets_one_clear_line(tmp_path):
    (tmp_path / "notes_edgetpu.tflite").write_text("hello")
    with pytest.raises(BadInput, match="notes_edgetpu.tflite: not a TFLite model"):
        inspect_compiled(tmp_path / "notes_edgetpu.tflite")
    result = run_script("inspect_edgetpu.py", tmp_path / "notes_edgetpu.tflite")
    assert result.returncode == 1 and result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1
