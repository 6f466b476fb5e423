"""Placement prediction: against the real compiler's results, and on models built to break each rule."""

import csv
import json

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

import flatbuffers
from conftest import PROJECT, run_script, shared_path
from coralbuild.edgetpu.inspection import format_ops
from coralbuild.edgetpu.placement import compare, predict
from coralbuild.edgetpu.tflite_model import read_tflite

CNN = PROJECT / "tests/data/cnn_int8.tflite"  # QUANTIZE CONV MAX_POOL CONV MAX_POOL RESHAPE FC FC SOFTMAX QUANTIZE
SINGLE_SEGMENT = "More than one subgraph is not supported"


def test_the_five_reference_models_exactly():
    folder = shared_path("edgetpu", "reference-models")
    rows = list(csv.DictReader((folder / "truth.csv").open()))
    assert len(rows) == 5
    for row in rows:
        prediction = predict(read_tflite(folder / f"{row['model']}.tflite"))
        assert format_ops(prediction.ops_on_cpu) == row["ops_left_on_cpu"], row["model"]
        assert prediction.ops_edgetpu == int(row["ops_not_left_on_cpu"]), row["model"]
        assert prediction.segments == int(row["edgetpu_segments"]), row["model"]


def test_the_default_cnn_maps_fully():
    prediction = predict(read_tflite(CNN), min_runtime_version=13)
    assert prediction.fully_mapped and prediction.segments == 1 and prediction.ops_edgetpu == 10


def mutated(tmp_path, change):
    """The CNN with `change(model)` applied through the TFLite schema's object API."""
    model = schema.ModelT.InitFromPackedBuf(CNN.read_bytes(), 0)
    change(model)
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    path = tmp_path / "mutated.tflite"
    path.write_bytes(bytes(builder.Output()))
    return read_tflite(path)


def graph(model):
    return model.subgraphs[0]


def set_opcode(model, op_index, builtin):
    code = schema.OperatorCodeT()
    code.builtinCode, code.deprecatedBuiltinCode, code.version = builtin, min(builtin, 127), 1
    model.operatorCodes.append(code)
    graph(model).operators[op_index].opcodeIndex = len(model.operatorCodes) - 1


def placements(prediction):
    return [op.placement for op in prediction.ops]


def test_a_float_op_makes_the_compiler_refuse_the_model(tmp_path):
    def float_pool_output(model):
        graph(model).tensors[graph(model).operators[2].outputs[0]].type = schema.TensorType.FLOAT32
    prediction = predict(mutated(tmp_path, float_pool_output))
    assert prediction.blockers and "not fully quantized: MAX_POOL_2D (op 2) works on FLOAT32" in prediction.blockers[0]
    assert placements(prediction) == ["cpu"] * 10 and prediction.segments == 0
    assert prediction.ops[0].reason.startswith("the compiler refuses the whole model")


def test_a_dynamic_batch_makes_the_compiler_refuse_the_model(tmp_path):
    def dynamic_batch(model):
        graph(model).tensors[graph(model).inputs[0]].shapeSignature = np.array([-1, 28, 28, 1], dtype=np.int32)
    prediction = predict(mutated(tmp_path, dynamic_batch))
    assert prediction.blockers[0].startswith("dynamic tensor sizes (for example a dynamic batch)")
    assert not prediction.fully_mapped and prediction.ops_edgetpu == 0


def test_an_unsupported_op_in_the_middle_ends_the_segment(tmp_path):
    model = mutated(tmp_path, lambda model: set_opcode(model, 4, schema.BuiltinOperator.TILE))
    prediction = predict(model)
    assert placements(prediction) == ["edgetpu"] * 4 + ["cpu"] * 6
    assert prediction.ops[4].reason == "Operation not supported: TILE is not in Coral's table of supported operations"
    assert all(op.reason.startswith(SINGLE_SEGMENT) and "after TILE (op 4)" in op.reason for op in prediction.ops[5:])
    assert prediction.ops_on_cpu == {"FULLY_CONNECTED": 2, "QUANTIZE": 1, "RESHAPE": 1, "SOFTMAX": 1, "TILE": 1}
    with_a = predict(model, multiple_subgraphs=True)
    assert placements(with_a) == ["edgetpu"] * 4 + ["cpu"] + ["edgetpu"] * 5 and with_a.segments == 2


def test_per_channel_dense_weights_stay_on_the_cpu(tmp_path):
    def per_channel(model):
        weights = graph(model).tensors[graph(model).operators[6].inputs[1]]
        weights.quantization.scale = np.full(64, weights.quantization.scale[0], dtype=np.float32)
        weights.quantization.zeroPoint = np.zeros(64, dtype=np.int64)
    prediction = predict(mutated(tmp_path, per_channel))
    assert "quantized per channel (64 scales); the Edge TPU needs per-tensor weights" in prediction.ops[6].reason
    assert placements(prediction) == ["edgetpu"] * 6 + ["cpu"] * 4


@pytest.mark.parametrize("change, op_index, reason", [
    (lambda model: setattr(graph(model).operators[2].builtinOptions, "fusedActivationFunction",
                           schema.ActivationFunctionType.RELU), 2, "MAX_POOL_2D with fused activation RELU"),
    (lambda model: setattr(graph(model).tensors[graph(model).operators[1].outputs[0]], "shape",
                           np.array([2, 26, 26, 16], dtype=np.int32)), 1, "Tensor has unsupported rank"),
    (lambda model: setattr(graph(model).tensors[graph(model).operators[8].inputs[0]], "shape",
                           np.array([1, 2, 5], dtype=np.int32)), 7, "FULLY_CONNECTED output (1, 2, 5) is not one-dimensional"),
    (lambda model: setattr(graph(model).tensors[graph(model).operators[7].outputs[0]], "type",
                           schema.TensorType.INT16), 7, "Operation is working on an unsupported data type"),
])
def test_each_op_limit_gives_its_reason(tmp_path, change, op_index, reason):
    prediction = predict(mutated(tmp_path, change))
    assert reason in prediction.ops[op_index].reason
    assert all(op.placement == "cpu" for op in prediction.ops[op_index:])


def test_an_op_needing_a_newer_runtime(tmp_path):
    prediction = predict(read_tflite(CNN), min_runtime_version=12)
    assert prediction.ops[0].reason.startswith("QUANTIZE needs Edge TPU runtime 13 or newer, and the minimum runtime is 12")


def test_split_along_the_batch_dimension(tmp_path):
    source = shared_path("edgetpu", "reference-models", "split_concat.tflite")
    model = schema.ModelT.InitFromPackedBuf(source.read_bytes(), 0)
    axis = graph(model).tensors[graph(model).operators[1].inputs[0]]
    model.buffers[axis.buffer].data = np.frombuffer(np.int32(0).tobytes(), dtype=np.uint8)
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    (tmp_path / "split0.tflite").write_bytes(bytes(builder.Output()))
    prediction = predict(read_tflite(tmp_path / "split0.tflite"))
    assert prediction.ops[1].reason.startswith("SPLIT along the batch dimension")


def test_comparison_with_the_compiled_model():
    prediction = predict(read_tflite(CNN)).as_dict()
    assert compare(prediction, {"ops_on_cpu": {}, "edgetpu_segments": 1}) == []
    assert compare(prediction, {"ops_on_cpu": {"QUANTIZE": 1}, "edgetpu_segments": 1}) == [
        "ops on the CPU: predicted none, compiled {'QUANTIZE': 1}"]


def test_command_table_json_and_required_full_mapping(tmp_path):
    table = run_script("predict_edgetpu.py", CNN, "--min-runtime-version", "13")
    assert table.returncode == 0 and "predicted: 10 of 10 ops on the Edge TPU, 0 on the CPU, 1 Edge TPU segment(s)" in table.stdout
    as_json = json.loads(run_script("predict_edgetpu.py", CNN, "--json").stdout)
    assert as_json["fully_mapped"] and as_json["ops"][0] == {"index": 0, "op": "QUANTIZE", "placement": "edgetpu",
                                                             "reason": None, "uncertain": None}
    refused = run_script("predict_edgetpu.py", CNN, "--min-runtime-version", "12", "--require-full-mapping")
    assert refused.returncode == 1 and refused.stderr.startswith("error: ") and "not predicted to map fully" in refused.stderr


def test_an_op_missing_an_input_it_needs_is_reported_not_misread(tmp_path):
    def drop_dense_weights(model):
        graph(model).operators[6].inputs = np.array([graph(model).operators[6].inputs[0], -1, -1], dtype=np.int32)
    prediction = predict(mutated(tmp_path, drop_dense_weights))
    assert prediction.ops[6].reason == "malformed FULLY_CONNECTED: fewer than 2 inputs"
