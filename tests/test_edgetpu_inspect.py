"""The compiled-model inspector against the five real pairs of tests/data/reference-models."""

import csv
import json

import flatbuffers
import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema
from flatbuffers import flexbuffers

from conftest import PROJECT, run_script
from coralbuild.edgetpu.inspection import compiled_placements, format_ops, inspect_compiled
from coralbuild.errors import BadInput

REFERENCE = PROJECT / "tests/data/reference-models"
CNN = PROJECT / "tests/data/cnn_int8.tflite"


def truth_rows():
    return list(csv.DictReader((REFERENCE / "truth.csv").open()))


def pair(model):
    return REFERENCE / f"{model}_edgetpu.tflite", REFERENCE / f"{model}.tflite"


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
    assert "ops mapped             64" in table.stdout and "parameters cached      766,720 B" in table.stdout
    as_json = json.loads(run_script("inspect_edgetpu.py", compiled, "--json").stdout)
    assert as_json["edgetpu_segments"] == 1 and as_json["ops_cpu"] == 8 and as_json["min_runtime_version"] == 12
    assert (as_json["onchip_bytes"], as_json["offchip_bytes"]) == (766720, 0)


def test_a_file_that_is_not_a_model_gets_one_clear_line(tmp_path):
    (tmp_path / "notes_edgetpu.tflite").write_text("hello")
    with pytest.raises(BadInput, match="notes_edgetpu.tflite: not a TFLite model"):
        inspect_compiled(tmp_path / "notes_edgetpu.tflite")
    result = run_script("inspect_edgetpu.py", tmp_path / "notes_edgetpu.tflite")
    assert result.returncode == 1 and result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1


def test_compiled_placement_of_each_source_op(truth):
    for row in truth:
        compiled, source = pair(row["model"])
        placements = compiled_placements(source, compiled)
        assert placements.count("cpu") == inspect_compiled(compiled).ops_cpu, row["model"]
        assert len(placements) == int(row["ops_in_source"]), row["model"]
    deeplab = compiled_placements(*reversed(pair("deeplabv3_mnv2_dm05_pascal_quant")))
    assert deeplab[:64] == ["edgetpu"] * 64 and deeplab[64:] == ["cpu"] * 8


def executable(builder, kind, parameters):
    """A libedgetpu Executable (executable.fbs) holding only its type and parameter bytes."""
    vector = builder.CreateByteVector(bytes(parameters))
    builder.StartObject(17)
    builder.PrependUOffsetTRelativeSlot(6, vector, 0)  # parameters
    builder.PrependInt16Slot(13, kind, 0)  # type
    builder.Finish(builder.EndObject())
    return bytes(builder.Output())


def package(executables):
    """A DWN1 Package whose MultiExecutable holds `executables` ((type, parameter bytes) pairs)."""
    serialized = [executable(flatbuffers.Builder(0), kind, size) for kind, size in executables]
    multi = flatbuffers.Builder(0)
    strings = [multi.CreateString(data) for data in serialized]
    multi.StartVector(4, len(strings), 4)
    for offset in reversed(strings):
        multi.PrependUOffsetTRelative(offset)
    vector = multi.EndVector()
    multi.StartObject(1)
    multi.PrependUOffsetTRelativeSlot(0, vector, 0)
    multi.Finish(multi.EndObject())
    outer = flatbuffers.Builder(0)
    blob = outer.CreateByteVector(bytes(multi.Output()))
    outer.StartObject(9)
    outer.PrependInt32Slot(0, 14, 0)  # min_runtime_version
    outer.PrependUOffsetTRelativeSlot(1, blob, 0)  # serialized_multi_executable
    outer.Finish(outer.EndObject(), file_identifier=b"DWN1")
    return bytes(outer.Output())


def compiled_with(tmp_path, packages):
    """The CNN with its first ops turned into edgetpu-custom-ops carrying `packages`."""
    model = schema.ModelT.InitFromPackedBuf(CNN.read_bytes(), 0)
    code = schema.OperatorCodeT()
    code.builtinCode, code.deprecatedBuiltinCode, code.customCode = 32, 32, "edgetpu-custom-op"
    model.operatorCodes.append(code)
    for position, data in enumerate(packages):
        operator = model.subgraphs[0].operators[position]
        options = flexbuffers.Builder()
        with options.Map():
            options.Key("4")
            options.Blob(data)
        operator.opcodeIndex, operator.builtinOptionsType, operator.builtinOptions = len(model.operatorCodes) - 1, 0, None
        operator.customOptions = np.frombuffer(bytes(options.Finish()), dtype=np.uint8)
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path = tmp_path / "made_edgetpu.tflite"
    path.write_bytes(bytes(builder.Output()))
    return path


def test_parameter_bytes_cached_and_streamed_are_read_from_the_executables(tmp_path):
    caching, execution_only, stand_alone = 1, 2, 0
    cached_and_rest = package([(execution_only, 300), (caching, 7000)])
    all_streamed = package([(stand_alone, 4096)])
    inspection = inspect_compiled(compiled_with(tmp_path, [cached_and_rest]))
    assert (inspection.onchip_bytes, inspection.offchip_bytes, inspection.min_runtime_version) == (7000, 300, 14)
    inspection = inspect_compiled(compiled_with(tmp_path, [cached_and_rest, all_streamed]))
    assert (inspection.onchip_bytes, inspection.offchip_bytes, inspection.edgetpu_segments) == (7000, 4396, 2)


def test_parameter_bytes_of_the_real_compiled_models(truth):
    for row in truth:
        compiled, _ = pair(row["model"])
        inspection = inspect_compiled(compiled)
        # The parameters are inside the compiled file, and every model here has some.
        assert 0 < inspection.onchip_bytes + inspection.offchip_bytes < compiled.stat().st_size, row["model"]


def test_a_mistyped_path_gets_one_line_naming_it(tmp_path):
    missing = tmp_path / "missing_edgetpu.tflite"
    for args in ([missing], [pair("split_concat")[0], "--source", missing]):
        result = run_script("inspect_edgetpu.py", *args)
        assert result.returncode == 1 and result.stderr == f"error: {missing}: file not found\n"
