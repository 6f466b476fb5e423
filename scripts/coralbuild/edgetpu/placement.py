"""Predict, without the compiler, which ops of an int8 .tflite the Edge TPU compiler maps, and
why the others stay on the CPU.

Every rule encodes a requirement Coral documents ("Edge TPU model requirements" and the
"Supported operations" table of coral.ai/docs/edgetpu/models-intro, compiler 16 / runtime 14);
the rule's docstring quotes it. Where the documentation leaves the outcome open (resizing),
the prediction says it is uncertain instead of guessing.
"""

from collections import Counter
from dataclasses import asdict, dataclass, field

# "Supported operations": op -> the oldest Edge TPU runtime that runs it (footnotes: EXPAND_DIMS,
# PACK, QUANTIZE, SUM, TRANSPOSE_CONV need runtime 13; TRANSPOSE, REDUCE_MAX/MIN, RSQRT need 14).
SUPPORTED_OPS = {
    **dict.fromkeys([
        "ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED",
        "L2_NORMALIZATION", "LOGISTIC", "LSTM", "UNIDIRECTIONAL_SEQUENCE_LSTM", "MAXIMUM", "MAX_POOL_2D",
        "MEAN", "MINIMUM", "MUL", "PAD", "PRELU", "RELU", "RELU6", "RELU_N1_TO_1", "RESHAPE",
        "RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR", "SLICE", "SOFTMAX", "SPACE_TO_DEPTH", "SPLIT",
        "SQUARED_DIFFERENCE", "SQUEEZE", "STRIDED_SLICE", "SUB", "TANH",
    ], 10),
    **dict.fromkeys(["EXPAND_DIMS", "PACK", "QUANTIZE", "SUM", "TRANSPOSE_CONV"], 13),
    **dict.fromkeys(["TRANSPOSE", "REDUCE_MAX", "REDUCE_MIN", "RSQRT"], 14),
}
EDGETPU_TYPES = {"INT8", "UINT8"}
FLOAT_TYPES = {"FLOAT32", "FLOAT16", "FLOAT64"}
# Quantized LSTMs keep their cell state in int16 (TFLite's quantization spec for LSTM).
LSTM_OPS = {"LSTM", "UNIDIRECTIONAL_SEQUENCE_LSTM"}
QUANTIZATION_BOUNDARY = {"QUANTIZE", "DEQUANTIZE"}
MAX_SOFTMAX_ELEMENTS = 16000
# Inputs the per-op limits read: op -> how many leading inputs must be present.
READ_INPUTS = {"FULLY_CONNECTED": 2, "SOFTMAX": 1, "MEAN": 2, "SUM": 2, "PAD": 2, "SPLIT": 2,
               "RESIZE_BILINEAR": 1, "RESIZE_NEAREST_NEIGHBOR": 1, "STRIDED_SLICE": 4}
NOT_SUPPORTED = "Operation not supported"
ONE_SUBGRAPH = "More than one subgraph is not supported"


@dataclass
class OpPrediction:
    index: int
    op: str
    placement: str  # "edgetpu" or "cpu"
    reason: str | None = None  # why it stays on the CPU, in plain words
    uncertain: str | None = None  # set where Coral's documentation leaves the outcome open


@dataclass
class Prediction:
    ops: list
    blockers: list = field(default_factory=list)  # reasons the compiler refuses the whole model
    min_runtime_version: int = 14
    multiple_subgraphs: bool = False

    @property
    def ops_on_cpu(self):
        return dict(sorted(Counter(op.op for op in self.ops if op.placement == "cpu").items()))

    @property
    def ops_edgetpu(self):
        return sum(op.placement == "edgetpu" for op in self.ops)

    @property
    def ops_cpu(self):
        return len(self.ops) - self.ops_edgetpu

    @property
    def segments(self):
        """Runs of consecutive Edge TPU ops, each compiled into one edgetpu-custom-op."""
        placements = [op.placement for op in self.ops]
        return sum(1 for i, placement in enumerate(placements)
                   if placement == "edgetpu" and (i == 0 or placements[i - 1] != "edgetpu"))

    @property
    def fully_mapped(self):
        return not self.blockers and self.ops_cpu == 0

    def as_dict(self):
        return {**asdict(self), "ops_edgetpu": self.ops_edgetpu, "ops_cpu": self.ops_cpu,
                "ops_on_cpu": self.ops_on_cpu, "segments": self.segments, "fully_mapped": self.fully_mapped}


def predict(model, min_runtime_version=14, multiple_subgraphs=False):
    """Placement of every op of `model` (a TFLiteModel), in execution order."""
    blockers = model_blockers(model)
    ops, first_unmapped = [], None
    for index, op in enumerate(model.operators):
        reason = None
        if blockers:
            reason = "the compiler refuses the whole model: " + blockers[0]
        else:
            reason = op_reason(model, op, min_runtime_version)
            if reason is None and first_unmapped is not None and not multiple_subgraphs:
                reason = (f"{ONE_SUBGRAPH}: it comes after {first_unmapped}, the first op left on the CPU "
                          "(only one Edge TPU segment without -a)")
            if reason is not None and first_unmapped is None:
                first_unmapped = f"{op.name} (op {index})"
        label = f"CUSTOM:{op.name}" if op.is_custom else op.name  # as the inspector names ops
        ops.append(OpPrediction(index, label, "cpu" if reason else "edgetpu", reason,
                                None if reason else uncertainty(model, op)))
    return Prediction(ops, blockers, min_runtime_version, multiple_subgraphs)


def model_blockers(model):
    """Why the compiler would answer "Model not quantized" and compile nothing.

    Requirements: "Tensor parameters are quantized (8-bit fixed-point numbers; int8 or uint8)"
    and "Tensor sizes are constant at compile-time (no dynamic sizes)"; a dynamic batch
    dimension also ends in "Model not quantized". Float tensors at a quantization boundary
    (QUANTIZE/DEQUANTIZE) and in custom ops only keep those ops on the CPU.
    """
    blockers = []
    dynamic = [tensor.name for tensor in model.tensors if -1 in tensor.shape_signature]
    if dynamic:
        blockers.append(f"dynamic tensor sizes (for example a dynamic batch) in {dynamic[0]} "
                        f"and {len(dynamic) - 1} other tensor(s); export with a static batch-1 signature")
    for index, op in enumerate(model.operators):
        if op.is_custom or op.name in QUANTIZATION_BOUNDARY:
            continue
        floats = [model.tensors[i] for i in (*op.inputs, *op.outputs) if i >= 0 and model.tensors[i].dtype in FLOAT_TYPES]
        if floats:
            blockers.append(f"the model is not fully quantized: {op.name} (op {index}) works on "
                            f"{floats[0].dtype} tensor {floats[0].name}")
            break
    return blockers


def op_reason(model, op, min_runtime_version):
    """Why `op` stays on the CPU on its own account, or None when the compiler can map it."""
    if op.is_custom:
        return f"{NOT_SUPPORTED}: custom op {op.name} (the Edge TPU runs only its own custom op)"
    needed = SUPPORTED_OPS.get(op.name)
    if needed is None:
        return f"{NOT_SUPPORTED}: {op.name} is not in Coral's table of supported operations"
    if needed > min_runtime_version:
        return (f"{op.name} needs Edge TPU runtime {needed} or newer, and the minimum runtime is "
                f"{min_runtime_version} (compile.min_runtime_version / -m)")
    needed_inputs = READ_INPUTS.get(op.name, 0)
    if len(op.inputs) < needed_inputs or min(op.inputs[:needed_inputs], default=0) < 0:
        return f"malformed {op.name}: fewer than {needed_inputs} inputs"
    for check in (tensor_types, tensor_shapes, *OP_LIMITS.get(op.name, ())):
        reason = check(model, op)
        if reason:
            return reason
    return None


def tensor_types(model, op):
    """"Tensor parameters are quantized (8-bit fixed-point numbers; int8 or uint8)": activations
    int8/uint8; constant parameters may also be int32 (biases, shapes, axes); an LSTM's state
    int16. Anything else: "Operation is working on an unsupported data type"."""
    for position, index in enumerate(op.inputs):
        if index < 0:
            continue
        tensor = model.tensors[index]
        allowed = set(EDGETPU_TYPES)
        if tensor.is_constant:
            allowed.add("INT32")
        if op.name in LSTM_OPS and (tensor.is_variable or tensor.is_constant):
            allowed.add("INT16")
        if tensor.dtype not in allowed:
            return f"Operation is working on an unsupported data type: input {position} ({tensor.name}) is {tensor.dtype}"
    for index in op.outputs:
        tensor = model.tensors[index]
        if tensor.dtype not in EDGETPU_TYPES:
            return f"Operation is working on an unsupported data type: output {tensor.name} is {tensor.dtype}"
    return None


def tensor_shapes(model, op):
    """"Tensor sizes are constant at compile-time"; "Tensors are either 1-, 2-, or 3-dimensional.
    If a tensor has more than 3 dimensions, then only the 3 innermost dimensions may have a size
    greater than 1" (so the batch is 1)."""
    for index in (*op.inputs, *op.outputs):
        if index < 0 or model.tensors[index].is_constant:
            continue
        tensor = model.tensors[index]
        if -1 in tensor.shape_signature:
            return f"dynamic size in {tensor.name} {tensor.shape_signature}"
        if any(size > 1 for size in tensor.shape[:-3]):
            return (f"Tensor has unsupported rank (up to 3 innermost dimensions mapped): {tensor.name} "
                    f"{tensor.shape}")
        if len(tensor.shape) >= 2 and tensor.shape[0] != 1:
            return f"batch dimension {tensor.shape[0]} in {tensor.name} {tensor.shape} (the Edge TPU runs batch 1)"
    return None


def no_fused_activation(model, op):
    """Table, AveragePool2d / MaxPool2d / Concatenation: "No fused activation function"."""
    if op.fused_activation not in (None, "NONE"):
        return f"{op.name} with fused activation {op.fused_activation} (the Edge TPU needs none on this op)"
    return None


def fully_connected_limits(model, op):
    """Table, FullyConnected: "Only the default format is supported for fully-connected weights.
    Output tensor is one-dimensional"; per-channel quantized weights are not known to map (every
    compiled FULLY_CONNECTED uses per-tensor weights)."""
    if op.weights_format not in (None, "DEFAULT"):
        return f"FULLY_CONNECTED weights in format {op.weights_format} (only the default format maps)"
    weights = model.tensors[op.inputs[1]]
    if weights.quantization_scales > 1:
        return (f"FULLY_CONNECTED weights {weights.name} quantized per channel ({weights.quantization_scales} "
                "scales); the Edge TPU needs per-tensor weights")
    output = model.tensors[op.outputs[0]]
    if sum(size > 1 for size in output.shape) > 1:
        return f"FULLY_CONNECTED output {output.shape} is not one-dimensional"
    return None


def softmax_limits(model, op):
    """Table, Softmax: "Supports only 1-D input tensor with a max of 16,000 elements"."""
    tensor = model.tensors[op.inputs[0]]
    elements = 1
    for size in tensor.shape:
        elements *= size
    if sum(size > 1 for size in tensor.shape) > 1 or elements > MAX_SOFTMAX_ELEMENTS:
        return f"SOFTMAX input {tensor.shape} is not 1-D with at most {MAX_SOFTMAX_ELEMENTS} elements"
    return None


def strided_slice_limits(model, op):
    """Table, StridedSlice: "Supports only strides of 1"."""
    strides = model.tensors[op.inputs[3]].values
    if strides is None or any(stride != 1 for stride in strides):
        return f"STRIDED_SLICE strides {strides if strides is not None else '(not constant)'} (only strides of 1 map)"
    return None


def axis_limits(axis_input):
    """Table, Mean / Pad / Sum / Split: "No reduction in batch dimension" / "No padding in batch
    dimension" / "No splitting in batch dimension"."""

    def check(model, op):
        tensor = model.tensors[op.inputs[axis_input]]
        data = model.tensors[op.inputs[1 - axis_input]]
        if tensor.values is None:
            return f"{op.name} axis/paddings not constant"
        if op.name == "PAD":
            touches_batch = any(tensor.values[:2])  # paddings: [[before, after], ...], batch first
        else:
            touches_batch = any(axis in (0, -len(data.shape)) for axis in tensor.values)
        if touches_batch:
            return f"{op.name} along the batch dimension ({tensor.name} = {list(tensor.values)})"
        return None

    return check


def resize_limits(model, op):
    """Table, ResizeBilinear / ResizeNearestNeighbor: "Input/output is a 3-dimensional tensor"
    (height, width and channels beyond the batch): a resize from a 1x1 input is not."""
    tensor = model.tensors[op.inputs[0]]
    if len(tensor.shape) == 4 and (tensor.shape[1] == 1 or tensor.shape[2] == 1):
        return f"{op.name} input {tensor.shape} is not a 3-dimensional image (height or width is 1)"
    return None


OP_LIMITS = {
    "AVERAGE_POOL_2D": [no_fused_activation],
    "MAX_POOL_2D": [no_fused_activation],
    "CONCATENATION": [no_fused_activation],
    "FULLY_CONNECTED": [fully_connected_limits],
    "SOFTMAX": [softmax_limits],
    "STRIDED_SLICE": [strided_slice_limits],
    "MEAN": [axis_limits(1)],
    "SUM": [axis_limits(1)],
    "PAD": [axis_limits(1)],
    "SPLIT": [axis_limits(0)],
    "RESIZE_BILINEAR": [resize_limits],
    "RESIZE_NEAREST_NEIGHBOR": [resize_limits],
}


def uncertainty(model, op):
    """Where Coral documents that a supported op may still stay on the CPU."""
    if op.name in ("RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"):
        return ("Coral: 'Depending on input/output size, this operation may not be mapped to the "
                "Edge TPU to avoid loss in precision' (sizes not documented)")
    return None


def compare(prediction, inspection):
    """Differences between a prediction and the inspection of the compiled model (both as
    their JSON dicts); [] when they agree."""
    differences = []
    if prediction["ops_on_cpu"] != inspection["ops_on_cpu"]:
        differences.append(f"ops on the CPU: predicted {prediction['ops_on_cpu'] or 'none'}, "
                           f"compiled {inspection['ops_on_cpu'] or 'none'}")
    if prediction["segments"] != inspection["edgetpu_segments"]:
        differences.append(f"Edge TPU segments: predicted {prediction['segments']}, "
                           f"compiled {inspection['edgetpu_segments']}")
    return differences
