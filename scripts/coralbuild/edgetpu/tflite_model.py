"""Read the structure of a .tflite file (operators, tensors, quantization) without running it.

Uses the flatbuffer schema that ships with the interpreter (`ai_edge_litert.schema_py_generated`),
so the reader and the interpreter always agree on operator codes and fields.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ai_edge_litert import schema_py_generated as schema

from coralbuild.errors import BadInput
from coralbuild.inputs import MODEL_BYTES, regular_file


def _enum_names(enum):
    """value -> name of one of the schema's enums (the generated classes hold them as attributes)."""
    return {value: name for name, value in vars(enum).items() if not name.startswith("_")}


TENSOR_TYPE_NAMES = _enum_names(schema.TensorType)
ACTIVATION_NAMES = _enum_names(schema.ActivationFunctionType)
WEIGHTS_FORMAT_NAMES = _enum_names(schema.FullyConnectedOptionsWeightsFormat)
BUILTIN_OPERATOR_NAMES = _enum_names(schema.BuiltinOperator)
# Option tables read for the Edge TPU's per-op limits: options type -> its accessor class.
OPTION_TABLES = {
    schema.BuiltinOptions.Pool2DOptions: schema.Pool2DOptions,
    schema.BuiltinOptions.ConcatenationOptions: schema.ConcatenationOptions,
    schema.BuiltinOptions.FullyConnectedOptions: schema.FullyConnectedOptions,
}
# Constant int32 tensors up to this size keep their values (axes, paddings, strides, shapes).
SMALL_CONSTANT_ELEMENTS = 64


@dataclass(frozen=True)
class Tensor:
    name: str
    dtype: str  # TFLite type name: "INT8", "UINT8", "INT32", "FLOAT32", ...
    shape: tuple
    shape_signature: tuple  # -1 marks a dynamic dimension
    is_constant: bool  # backed by a buffer holding data (weights, biases)
    quantization_scales: int  # 0: not quantized, 1: per-tensor, >1: per-channel
    is_variable: bool = False  # state kept between invokes (an LSTM's states)
    values: tuple | None = None  # the data of a small constant int32 tensor, flattened


@dataclass(frozen=True)
class Operator:
    name: str  # builtin operator name, or the custom code of a custom operator
    version: int
    inputs: tuple  # tensor indices; -1 is an omitted optional input
    outputs: tuple
    is_custom: bool
    custom_options: bytes = b""  # custom operators only (a FlexBuffer for edgetpu-custom-op)
    fused_activation: str | None = None  # pools, concatenation, fully connected
    weights_format: str | None = None  # fully connected


@dataclass(frozen=True)
class TFLiteModel:
    tensors: tuple
    operators: tuple
    inputs: tuple
    outputs: tuple
    subgraphs: int

    def op_names(self):
        return [operator.name for operator in self.operators]


def read_tflite(path):
    """The main subgraph of the .tflite at `path`, or BadInput if it is not a TFLite model."""
    path = Path(regular_file(Path(path), MODEL_BYTES, ".tflite model"))
    try:
        data = path.read_bytes()
    except OSError as error:  # a mistyped path, a folder, no permission: the user's to fix
        raise BadInput(f"{path}: cannot read ({error.strerror or type(error).__name__})") from None
    if len(data) < 8 or not schema.Model.ModelBufferHasIdentifier(data, 0):
        raise BadInput(f"{path}: not a TFLite model (no TFL3 file identifier)")
    try:
        model = _read(schema.Model.GetRootAs(data, 0))
        _check_references(model)
    # Decoding untrusted bytes fails in many ways inside the flatbuffers library (struct.error,
    # IndexError, ValueError, ...): all of them mean the same to the caller.
    except Exception as error:  # noqa: BLE001
        raise BadInput(f"{path}: corrupt TFLite model ({type(error).__name__}: {error})") from None
    return model


def _check_references(model):
    """Every tensor an operator or the graph names exists, so readers can index without checks."""
    count = len(model.tensors)
    for position, operator in enumerate(model.operators):
        for index in (*operator.inputs, *operator.outputs):
            if not -1 <= index < count:
                raise ValueError(f"operator {position} ({operator.name}) names tensor {index} of {count}")
    for index in (*model.inputs, *model.outputs):
        if not 0 <= index < count:
            raise ValueError(f"the graph names tensor {index} of {count}")


def _read(model):
    if model.SubgraphsLength() < 1:
        raise ValueError("the model has no subgraph")
    graph = model.Subgraphs(0)
    tensors = tuple(_tensor(model, graph.Tensors(i)) for i in range(graph.TensorsLength()))
    operators = tuple(_operator(model, graph.Operators(i)) for i in range(graph.OperatorsLength()))
    return TFLiteModel(
        tensors=tensors,
        operators=operators,
        inputs=tuple(graph.InputsAsNumpy()) if graph.InputsLength() else (),
        outputs=tuple(graph.OutputsAsNumpy()) if graph.OutputsLength() else (),
        subgraphs=model.SubgraphsLength(),
    )


def _tensor(model, tensor):
    quantization = tensor.Quantization()
    scales = quantization.ScaleLength() if quantization is not None else 0
    buffer = model.Buffers(tensor.Buffer()) if tensor.Buffer() < model.BuffersLength() else None
    has_data = buffer is not None and (buffer.DataLength() > 0 or buffer.Size() > 0)
    shape = tuple(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else ()
    signature = tuple(int(d) for d in tensor.ShapeSignatureAsNumpy()) if tensor.ShapeSignatureLength() else shape
    dtype = TENSOR_TYPE_NAMES.get(tensor.Type(), f"TYPE_{tensor.Type()}")
    values = None
    if has_data and dtype == "INT32" and buffer.DataLength() <= 4 * SMALL_CONSTANT_ELEMENTS:
        values = tuple(int(v) for v in np.frombuffer(buffer.DataAsNumpy().tobytes(), dtype="<i4"))
    return Tensor(
        name=(tensor.Name() or b"").decode("utf-8", "replace"),
        dtype=dtype,
        shape=shape,
        shape_signature=signature,
        is_constant=has_data,
        quantization_scales=scales,
        is_variable=bool(tensor.IsVariable()),
        values=values,
    )


def _operator(model, operator):
    code = model.OperatorCodes(operator.OpcodeIndex())
    # Opcodes above 127 live in BuiltinCode; DeprecatedBuiltinCode holds min(code, 127).
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    is_custom = builtin == schema.BuiltinOperator.CUSTOM
    if is_custom:
        name = (code.CustomCode() or b"").decode("utf-8", "replace")
    else:
        name = BUILTIN_OPERATOR_NAMES.get(builtin, f"BUILTIN_{builtin}")
    inputs = tuple(int(i) for i in operator.InputsAsNumpy()) if operator.InputsLength() else ()
    outputs = tuple(int(i) for i in operator.OutputsAsNumpy()) if operator.OutputsLength() else ()
    options = operator.CustomOptionsAsNumpy().tobytes() if is_custom and operator.CustomOptionsLength() else b""
    return Operator(name=name, version=code.Version(), inputs=inputs, outputs=outputs, is_custom=is_custom,
                    custom_options=options, **_builtin_options(operator))


def _builtin_options(operator):
    accessor = OPTION_TABLES.get(operator.BuiltinOptionsType())
    table = operator.BuiltinOptions()
    if accessor is None or table is None:
        return {}
    options = accessor()
    options.Init(table.Bytes, table.Pos)
    found = {"fused_activation": ACTIVATION_NAMES.get(options.FusedActivationFunction(), "UNKNOWN")}
    if accessor is schema.FullyConnectedOptions:
        found["weights_format"] = WEIGHTS_FORMAT_NAMES.get(options.WeightsFormat(), "UNKNOWN")
    return found
