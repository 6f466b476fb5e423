"""Placement prediction: against the real compiler's results (tests/data/reference-models), on
small models showing what compiler 16 did (tests/data/fixtures, README there), and on models
built to break each rule."""

import csv
import json

import flatbuffers
import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from conftest import PROJECT, run_script
from coralbuild.edgetpu.inspection import compiled_placements, format_ops, inspect_compiled
from coralbuild.edgetpu.placement import RULES, compare, predict
from coralbuild.edgetpu.tflite_model import read_tflite

CNN = PROJECT / "tests/data/cnn_int8.tflite"  # QUANTIZE CONV MAX_POOL CONV MAX_POOL RESHAPE FC FC SOFTMAX QUANTIZE
REFERENCE = PROJECT / "tests/data/reference-models"
FIXTURES = PROJECT / "tests/data/fixtures"
SINGLE_SEGMENT = "More than one subgraph is not supported"
E, C = "edgetpu", "cpu"
# What compiler 16 did with models like each fixture (tests/data/fixtures/README.md).
COMPILER_16 = {
    "lead_in_cast_quantize": [C, C, E, E, E, E, C],
    "dense_dynamic_batch": [E] * 5,
    "dense_per_channel": [E] * 3,
    "softmax_16384": [E] * 3,
    "tile_broadcast": [E] * 6,
    "resize_33_to_33": [E] * 4,
    "resize_33_to_513": [E, E, C, C],
}


def reference_rows():
    return list(csv.DictReader((REFERENCE / "truth.csv").open()))


def test_the_five_reference_models_exactly():
    rows = reference_rows()
    assert len(rows) == 5
    for row in rows:
        source = REFERENCE / f"{row['model']}.tflite"
        prediction = predict(read_tflite(source))
        assert format_ops(prediction.ops_on_cpu) == row["ops_left_on_cpu"], row["model"]
        assert prediction.ops_edgetpu == int(row["ops_not_left_on_cpu"]), row["model"]
        assert prediction.segments == int(row["edgetpu_segments"]), row["model"]
        truth = compiled_placements(source, REFERENCE / f"{row['model']}_edgetpu.tflite")
        assert placements(prediction) == truth, row["model"]


@pytest.mark.parametrize("name", sorted(COMPILER_16))
def test_each_fixture_as_compiler_16_placed_it(name):
    prediction = predict(read_tflite(FIXTURES / f"{name}.tflite"))
    assert placements(prediction) == COMPILER_16[name] and not prediction.blockers
    assert prediction.segments == 1


def test_fixtures_show_the_behaviour_they_are_named_for():
    ops = {name: read_tflite(FIXTURES / f"{name}.tflite") for name in [*COMPILER_16, "flatten_dynamic_batch"]}
    assert ops["lead_in_cast_quantize"].op_names()[:2] == ["CAST", "QUANTIZE"]
    assert ops["lead_in_cast_quantize"].op_names()[-1] == "DEQUANTIZE"
    dense = ops["dense_dynamic_batch"]
    assert dense.tensors[dense.inputs[0]].shape_signature[0] == -1 and "SHAPE" not in dense.op_names()
    assert {"SHAPE", "STRIDED_SLICE", "PACK", "RESHAPE"} <= set(ops["flatten_dynamic_batch"].op_names())
    weights = ops["dense_per_channel"].tensors[ops["dense_per_channel"].operators[1].inputs[1]]
    assert weights.quantization_scales == 256
    assert ops["softmax_16384"].tensors[ops["softmax_16384"].operators[1].inputs[0]].shape == (1, 16384)
    assert "TILE" in ops["tile_broadcast"].op_names()
    for name, size in [("resize_33_to_33", 33), ("resize_33_to_513", 513)]:
        resize = ops[name].operators[2]
        assert resize.name == "RESIZE_BILINEAR" and ops[name].tensors[resize.outputs[0]].shape == (1, size, size, 4)


def test_leading_float_ops_stay_on_the_cpu_without_ending_the_segment():
    prediction = predict(read_tflite(FIXTURES / "lead_in_cast_quantize.tflite"))
    assert [op.rule for op in prediction.ops[:2]] == ["segment-start"] * 2
    assert "CAST is not in Coral's table" in prediction.ops[0].reason
    assert "input 0 (" in prediction.ops[1].reason and "is FLOAT32" in prediction.ops[1].reason
    assert "segment-start" in prediction.ops[2].rules and prediction.ops[6].rule == "op-table"


def test_shapes_computed_at_run_time_make_the_compiler_refuse_the_model():
    prediction = predict(read_tflite(FIXTURES / "flatten_dynamic_batch.tflite"))
    assert prediction.blockers and prediction.blockers[0].startswith("shapes computed at run time (SHAPE ... -> RESHAPE op 4)")
    assert placements(prediction) == [C] * 8 and prediction.segments == 0
    assert {op.rule for op in prediction.ops} == {"runtime-shape"}


def test_every_rule_states_its_evidence_and_confidence():
    for name, rule in RULES.items():
        assert rule.evidence.startswith(("documented", "observed")) and rule.confidence in {"high", "medium"}, name
        assert rule.source, name
    as_json = predict(read_tflite(FIXTURES / "tile_broadcast.tflite")).as_dict()
    assert as_json["rules"]["tile-broadcast"]["evidence"] == "observed (compiler 16)"
    assert set(as_json["rules"]) == {rule for op in as_json["ops"] for rule in op["rules"]}


def test_the_default_cnn_maps_fully():
    prediction = predict(read_tflite(CNN), min_runtime_version=13)
    assert prediction.fully_mapped and prediction.segments == 1 and prediction.ops_edgetpu == 10


def mutated(tmp_path, change, source=CNN):
    """`source` with `change(model)` applied through the TFLite schema's object API."""
    model = schema.ModelT.InitFromPackedBuf(source.read_bytes(), 0)
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


def set_shape(model, tensor, shape):
    graph(model).tensors[tensor].shape = np.array(shape, dtype=np.int32)
    graph(model).tensors[tensor].shapeSignature = np.array(shape, dtype=np.int32)


def placements(prediction):
    return [op.placement for op in prediction.ops]


def test_a_float_op_in_the_body_stays_on_the_cpu_and_ends_the_segment(tmp_path):
    def float_pool_output(model):
        graph(model).tensors[graph(model).operators[2].outputs[0]].type = schema.TensorType.FLOAT32
    prediction = predict(mutated(tmp_path, float_pool_output))
    assert not prediction.blockers and placements(prediction) == [E] * 2 + [C] * 8
    assert prediction.ops[2].reason.startswith("Operation is working on an unsupported data type: output")
    assert prediction.ops[3].reason.startswith("Operation is working on an unsupported data type: input 0")
    assert prediction.ops[4].rule == "single-segment"


def test_a_dynamic_batch_alone_does_not_stop_the_compiler(tmp_path):
    def dynamic_batch(model):
        for tensor in graph(model).tensors:
            if model.buffers[tensor.buffer].data is None and len(tensor.shape) > 1:  # activations
                tensor.shapeSignature = np.array([-1, *tensor.shape[1:]], dtype=np.int32)
    prediction = predict(mutated(tmp_path, dynamic_batch))
    assert prediction.fully_mapped and not prediction.blockers and "dynamic-batch" in prediction.ops[1].rules


def test_a_model_with_no_quantized_op_is_refused(tmp_path):
    def all_float(model):
        for tensor in graph(model).tensors:
            if tensor.type in (schema.TensorType.INT8, schema.TensorType.UINT8):
                tensor.type = schema.TensorType.FLOAT32
    prediction = predict(mutated(tmp_path, all_float))
    assert prediction.blockers == ["Model not quantized: no op works on int8/uint8 tensors"]
    assert placements(prediction) == [C] * 10


def test_an_unsupported_op_in_the_middle_ends_the_segment(tmp_path):
    model = mutated(tmp_path, lambda model: set_opcode(model, 4, schema.BuiltinOperator.EXP))
    prediction = predict(model)
    assert placements(prediction) == [E] * 4 + [C] * 6
    assert prediction.ops[4].reason == "Operation not supported: EXP is not in Coral's table of supported operations"
    assert all(op.reason.startswith(SINGLE_SEGMENT) and "depends on EXP (op 4)" in op.reason for op in prediction.ops[5:])
    assert prediction.ops_on_cpu == {"EXP": 1, "FULLY_CONNECTED": 2, "QUANTIZE": 1, "RESHAPE": 1, "SOFTMAX": 1}
    with_a = predict(model, multiple_subgraphs=True)
    assert placements(with_a) == [E] * 4 + [C] + [E] * 5 and with_a.segments == 2


def test_per_channel_dense_weights_map():
    prediction = predict(read_tflite(FIXTURES / "dense_per_channel.tflite"))
    assert prediction.ops[1].placement == E and "fully-connected" in prediction.ops[1].rules


def test_softmax_beyond_what_was_seen_is_uncertain_and_so_is_what_follows(tmp_path):
    def bigger(model):
        for tensor in (0, 1, 2, 3):
            if list(graph(model).tensors[tensor].shape) == [1, 16384]:
                set_shape(model, tensor, [1, 20000])
    prediction = predict(mutated(tmp_path, bigger, FIXTURES / "softmax_16384.tflite"))
    assert placements(prediction) == ["uncertain"] * 3
    # The QUANTIZEs before and after it is uncertain on its own account too: (1, 20000) lies between the largest
    # QUANTIZE dimension seen mapped and the smallest seen cut.
    assert "SOFTMAX over 20000 elements" in prediction.ops[1].reason
    assert "QUANTIZE with a dimension of 20,000: between the largest seen mapped (16,384)" in prediction.ops[2].reason
    assert prediction.segments == 1 and prediction.ops_uncertain == {"QUANTIZE": 2, "SOFTMAX": 1}


def test_a_resize_factor_nobody_compiled_is_uncertain(tmp_path):
    def to_66(model):
        set_shape(model, graph(model).operators[2].outputs[0], [1, 66, 66, 4])
    prediction = predict(mutated(tmp_path, to_66, FIXTURES / "resize_33_to_513.tflite"))
    assert prediction.ops[2].placement == "uncertain" and "33x33 -> 66x66" in prediction.ops[2].reason
    assert "hangs on RESIZE_BILINEAR (op 2), whose placement is uncertain" in prediction.ops[3].reason
    assert compare(prediction.as_dict(), {"ops_on_cpu": {"QUANTIZE": 1, "RESIZE_BILINEAR": 1}, "edgetpu_segments": 1}) == []
    assert compare(prediction.as_dict(), {"ops_on_cpu": {"CONV_2D": 1}, "edgetpu_segments": 1}) != []


def test_a_tile_of_another_shape_is_uncertain_and_a_repetition_stays_on_the_cpu(tmp_path):
    def channel_broadcast(model):
        multiples = graph(model).tensors[graph(model).operators[2].inputs[1]]
        model.buffers[multiples.buffer].data = np.frombuffer(np.array([1, 33, 1, 1], "<i4").tobytes(), np.uint8)
    prediction = predict(mutated(tmp_path, channel_broadcast, FIXTURES / "tile_broadcast.tflite"))
    assert prediction.ops[2].placement == "uncertain" and prediction.ops[2].rule == "tile-broadcast"

    def repetition(model):
        set_shape(model, graph(model).operators[2].inputs[0], [1, 2, 1, 8])
    prediction = predict(mutated(tmp_path, repetition, FIXTURES / "tile_broadcast.tflite"))
    assert prediction.ops[2].placement == C and "TILE repeating data" in prediction.ops[2].reason


def test_the_parameter_estimate_of_a_dense_layer_is_what_compiler_16_cached():
    # Reference notes, section 6: a Dense 256x256 took 67,584 B of parameter cache.
    prediction = predict(read_tflite(FIXTURES / "dense_per_channel.tflite"))
    assert prediction.parameter_bytes == 67584 and prediction.parameter_memory == "fits"


def test_a_dense_too_big_for_the_cache_streams(tmp_path):
    def huge(model):
        dense = graph(model).operators[1]
        set_shape(model, dense.inputs[1], [8192, 8192])
        set_shape(model, dense.outputs[0], [1, 8192])
    source = mutated(tmp_path, huge, FIXTURES / "dense_per_channel.tflite")
    prediction = predict(source)
    assert prediction.parameter_bytes == 8192 * 8192 + 8 * 8192 and prediction.parameter_memory == "streams"
    result = run_script("predict_edgetpu.py", tmp_path / "mutated.tflite", "--fail-on-streaming")
    assert result.returncode == 1 and "parameters expected to be streamed" in result.stderr
    assert run_script("predict_edgetpu.py", FIXTURES / "dense_per_channel.tflite", "--fail-on-streaming").returncode == 0


def test_the_parameter_estimate_against_the_compiled_reference_models():
    for row in reference_rows():
        if row["model"] in {"split_concat", "keras_lstm_mnist_ptq"}:
            continue  # tiny: the compiler's padding and alignment dominate
        estimate = predict(read_tflite(REFERENCE / f"{row['model']}.tflite")).parameter_bytes
        compiled = inspect_compiled(REFERENCE / f"{row['model']}_edgetpu.tflite")
        assert 0.75 < estimate / (compiled.onchip_bytes + compiled.offchip_bytes) <= 1, row["model"]


# Rules only Coral's documentation states give "uncertain" (no compiled model confirmed them, and
# compiler 16 mapped ops some documented limits name); rules compiled models confirmed give "cpu".
@pytest.mark.parametrize("change, op_index, reason, placement", [
    (lambda model: setattr(graph(model).operators[2].builtinOptions, "fusedActivationFunction",
                           schema.ActivationFunctionType.RELU), 2, "MAX_POOL_2D with fused activation RELU", "uncertain"),
    (lambda model: setattr(graph(model).tensors[graph(model).operators[1].outputs[0]], "shape",
                           np.array([2, 26, 26, 16], dtype=np.int32)), 1, "Tensor has unsupported rank", "uncertain"),
    (lambda model: setattr(graph(model).tensors[graph(model).operators[8].inputs[0]], "shape",
                           np.array([1, 2, 5], dtype=np.int32)), 7, "FULLY_CONNECTED output (1, 2, 5) is not one-dimensional",
     "uncertain"),
    (lambda model: setattr(graph(model).tensors[graph(model).operators[7].outputs[0]], "type",
                           schema.TensorType.INT16), 7, "Operation is working on an unsupported data type", "cpu"),
])
def test_each_op_limit_gives_its_reason(tmp_path, change, op_index, reason, placement):
    prediction = predict(mutated(tmp_path, change))
    assert reason in prediction.ops[op_index].reason and prediction.ops[op_index].placement == placement
    documented_only = "no compiled model seen confirms" in prediction.ops[op_index].reason
    assert documented_only == (placement == "uncertain")
    # What depends on it follows it: on the CPU after a confirmed cut, hanging on an uncertain one.
    assert all(op.placement == placement for op in prediction.ops[op_index + 1:])


def test_an_op_needing_a_newer_runtime(tmp_path):
    prediction = predict(read_tflite(CNN), min_runtime_version=12)
    assert prediction.ops[0].reason.startswith("QUANTIZE needs Edge TPU runtime 13 or newer, and the minimum runtime is 12")


def test_split_along_the_batch_dimension(tmp_path):
    source = REFERENCE / "split_concat.tflite"
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
                                                             "rule": "op-table", "reason": None,
                                                             "rules": ["runtime-version", "data-types", "rank", "activation-dimension",
                                                                       "op-table"]}
    assert as_json["parameter_memory"] == "fits" and as_json["parameter_bytes"] > 0
    refused = run_script("predict_edgetpu.py", CNN, "--min-runtime-version", "12", "--require-full-mapping")
    assert refused.returncode == 1 and refused.stderr.startswith("error: ") and "not predicted to map fully" in refused.stderr


def test_an_op_missing_an_input_it_needs_is_reported_not_misread(tmp_path):
    def drop_dense_weights(model):
        graph(model).operators[6].inputs = np.array([graph(model).operators[6].inputs[0], -1, -1], dtype=np.int32)
    prediction = predict(mutated(tmp_path, drop_dense_weights))
    assert prediction.ops[6].reason == "malformed FULLY_CONNECTED: fewer than 2 inputs"


def test_a_mistyped_path_gets_one_line_naming_it(tmp_path):
    result = run_script("predict_edgetpu.py", tmp_path / "mistyped.tflite", "--json")
    assert result.returncode == 1 and result.stderr == f"error: {tmp_path / 'mistyped.tflite'}: file not found\n"


YOLO = PROJECT / "tests/data/yolo"


@pytest.mark.parametrize("name", ["yolov8n_320_float_io", "yolov8n_640_int8"])
def test_the_yolo_heads_are_cut_where_compiler_16_cut_them(name):
    """Op by op as compiled, none uncertain: the 40x40 (and 80x80) levels' TRANSPOSE and all that
    depends on it on the CPU, the other levels' branches (the 80x80 branch at 640 comes after the
    cut in file order) on the Edge TPU, in one segment."""
    truth = next(row for row in csv.DictReader((YOLO / "truth.csv").open()) if row["model"] == name)
    prediction = predict(read_tflite(YOLO / f"{name}.tflite"))
    assert placements(prediction) == compiled_placements(YOLO / f"{name}.tflite", YOLO / f"{name}_edgetpu.tflite")
    assert format_ops(prediction.ops_on_cpu) == truth["ops_left_on_cpu"]
    assert prediction.segments == int(truth["edgetpu_segments"]) == 1
    cut = [op for op in prediction.ops if op.rule == "transpose-size"]
    assert cut and all("unspecified limitation" in op.reason for op in cut)


def synthetic(op_name, input_shape, output_shape, constant_inputs=()):
    """A one-op int8 model (no file): `op_name` from `input_shape` to `output_shape`, with small
    int32 constant inputs of these values (a permutation, a shape)."""
    from coralbuild.edgetpu.tflite_model import Operator, Tensor, TFLiteModel

    tensors = [Tensor("in", "INT8", tuple(input_shape), tuple(input_shape), False, 1),
               Tensor("out", "INT8", tuple(output_shape), tuple(output_shape), False, 1)]
    tensors += [Tensor(f"param{i}", "INT32", (len(values),), (len(values),), True, 0, values=tuple(values))
                for i, values in enumerate(constant_inputs)]
    inputs = (0, *range(2, 2 + len(constant_inputs)))
    return TFLiteModel(tuple(tensors), (Operator(op_name, 1, inputs, (1,), False),), (0,), (1,), 1)


@pytest.mark.parametrize("source, result, placement", [
    ((1, 20, 20, 72), (1, 72, 20, 20), E),  # the largest seen mapped: 28,800 elements, innermost 20
    ((1, 40, 40, 65), (1, 65, 40, 40), C),  # the 40x40 level of any YOLOv8 head: >= 104,000, innermost 40
    ((1, 28, 28, 84), (1, 84, 28, 28), "uncertain"),  # a 224-px head's 28x28 level: between the two
    ((1, 10, 10, 640), (1, 640, 10, 10), "uncertain"),  # 64,000 elements, innermost 10: beyond the mapped one
])
def test_a_transpose_is_placed_by_the_sizes_seen_on_both_sides(source, result, placement):
    model = synthetic("TRANSPOSE", source, result, constant_inputs=[(0, 3, 1, 2)])
    assert placements(predict(model)) == [placement]


@pytest.mark.parametrize("op_name, source, result, placement", [
    ("RESHAPE", (1, 3136, 3, 15), (1, 9408, 15), E),  # YOLOv5n at 448: mapped
    ("RESHAPE", (1, 6400, 3, 15), (1, 19200, 15), C),  # at 640: cut (same 288,000 elements)
    ("RESHAPE", (1, 4000, 3, 15), (1, 12000, 15), "uncertain"),
    ("QUANTIZE", (1, 16384), (1, 16384), E),
    ("QUANTIZE", (1, 20000), (1, 20000), "uncertain"),
])
def test_reshape_and_quantize_are_placed_by_their_largest_dimension(op_name, source, result, placement):
    constants = [(1, *result[1:])] if op_name == "RESHAPE" else []
    assert placements(predict(synthetic(op_name, source, result, constants))) == [placement]


@pytest.mark.parametrize("side, placement", [(10, E), (40, E), (80, "uncertain")])
def test_nearest_neighbour_doubling_maps_up_to_the_sizes_seen(side, placement):
    model = synthetic("RESIZE_NEAREST_NEIGHBOR", (1, side, side, 64), (1, 2 * side, 2 * side, 64), [(2 * side, 2 * side)])
    assert placements(predict(model)) == [placement]
