"""Predict, without the compiler, which ops of an int8 .tflite the Edge TPU compiler (version 16)
maps, why the others stay on the CPU, and whether the mapped ops' parameters fit the on-chip cache.

Every rule in RULES states the evidence it rests on: a requirement Coral documents ("Edge TPU
model requirements" and the "Supported operations" table of coral.ai/docs/edgetpu/models-intro,
compiler 16 / runtime 14), or a result observed in models compiled by compiler 16 where the
compiler does not behave as the documentation reads. Where neither decides (a resize factor nobody
has compiled, for example), the op's placement is "uncertain" with the reason, never a guess; ops
whose placement hangs on an uncertain op are uncertain too.
"""

from collections import Counter
from dataclasses import asdict, dataclass, field, replace

DOCUMENTED, OBSERVED = "documented", "observed (compiler 16)"


@dataclass(frozen=True)
class Rule:
    evidence: str  # DOCUMENTED, OBSERVED, or both
    source: str  # the documented requirement quoted, or the compiled models it was seen in
    confidence: str  # "high": documented and never contradicted, or seen directly; "medium": generalised from few cases
    # Where real compiled models showed ops this rule sends to the CPU there. None: only Coral's
    # documentation says so, and compiler 16 mapped ops such documented limits name (a (1, 16384)
    # SOFTMAX, per-channel dense weights): its CPU verdicts are "uncertain".
    cpu_seen: str | None = None


RULES = {
    "op-table": Rule(DOCUMENTED, "Coral's 'Supported operations' table (compiler 16 / runtime 14); ops "
                     "missing from it (CAST, SHAPE, GATHER, ARG_MAX, DIV, EXP, TILE, HARD_SWISH, ...) stay on the CPU", "high",
        cpu_seen="ARG_MAX, DEQUANTIZE (reference models, YOLOv8n float IO), CAST (fixture lead_in_cast_quantize)"),
    "custom-op": Rule(DOCUMENTED, "the Edge TPU runs no custom op other than its own edgetpu-custom-op", "high",
        cpu_seen="PosenetDecoderOp (posenet reference models)"),
    "runtime-version": Rule(DOCUMENTED, "table footnotes: EXPAND_DIMS, PACK, QUANTIZE, SUM, TRANSPOSE_CONV need "
                            "runtime 13; TRANSPOSE, REDUCE_MAX/MIN, RSQRT need runtime 14", "high"),
    "data-types": Rule(f"{DOCUMENTED}; {OBSERVED}", "'Tensor parameters are quantized (8-bit fixed-point numbers; "
                       "int8 or uint8)'; status 'Operation is working on an unsupported data type'. Seen: float "
                       "ops before and after an int8 body stay on the CPU, the model is not refused", "high",
        cpu_seen="float QUANTIZE and CAST before an int8 body (YOLOv8n float IO, fixture lead_in_cast_quantize)"),
    "constant-params": Rule(DOCUMENTED, "status 'Filter, bias, or other param is not constant at compile-time'", "high"),
    "rank": Rule(DOCUMENTED, "'Tensors are either 1-, 2-, or 3-dimensional. If a tensor has more than 3 dimensions, "
                 "then only the 3 innermost dimensions may have a size greater than 1'", "high"),
    "dynamic-batch": Rule(OBSERVED, "Keras 3 Dense models converted with a dynamic batch (shape_signature -1, "
                          "shape 1) and no run-time shape ops compiled entirely onto the Edge TPU", "high"),
    "dynamic-size": Rule(DOCUMENTED, "'Tensor sizes are constant at compile-time'; only a dynamic batch of static "
                         "size 1 has been seen compiled", "medium"),
    "runtime-shape": Rule(OBSERVED, "dynamic-batch models whose Flatten became SHAPE/STRIDED_SLICE/PACK feeding "
                          "RESHAPE were refused ('Model not quantized')", "medium",
        cpu_seen="the fixture flatten_dynamic_batch's kind of model, refused ('Model not quantized')"),
    "not-quantized": Rule(DOCUMENTED, "'Tensor parameters are quantized': a model with no int8/uint8 op is refused "
                          "('Model not quantized')", "high",
        cpu_seen="a float model refused by the compiler (tests/data/compiler-output/v15_model_not_quantized.stdout)"),
    "segment-start": Rule(OBSERVED, "leading CPU ops (uint8 input -> CAST -> QUANTIZE to int8) do not stop the "
                          "compiler: the Edge TPU segment starts at the first op it can map", "medium"),
    "single-segment": Rule(f"{DOCUMENTED}; {OBSERVED}", "the compiler maps one segment: every op that depends "
                           "on an op left on the CPU after the segment runs on the CPU ('More than one subgraph "
                           "is not supported') unless -a is given; ops on other branches stay in the segment "
                           "(YOLOv8n at 640: the 80x80 branch after the 40x40 TRANSPOSE was mapped)", "high",
        cpu_seen="every op depending on a CPU op in the YOLOv8n heads and the DeepLab models"),
    "fused-activation": Rule(DOCUMENTED, "table, AveragePool2d / MaxPool2d / Concatenation: 'No fused activation "
                             "function'", "high"),
    "fully-connected": Rule(f"{DOCUMENTED}; {OBSERVED}", "table, FullyConnected: 'Only the default format is "
                            "supported for fully-connected weights. Output tensor is one-dimensional'. Seen: "
                            "per-channel weights (one scale per output unit, TF 2.21's default) were mapped", "high"),
    "softmax": Rule(f"{DOCUMENTED}; {OBSERVED}", "table, Softmax: 'Supports only 1-D input tensor with a max of "
                    "16,000 elements'. Seen: a (1, 16384) input was mapped; above 16384 is unknown; a "
                    "multi-dimensional one passed its own checks in compiler 16's YOLOv8n logs", "medium"),
    "strided-slice": Rule(DOCUMENTED, "table, StridedSlice: 'Supports only strides of 1'", "high"),
    "batch-axis": Rule(DOCUMENTED, "table, Mean / Pad / Sum / Split: no reduction, padding or splitting in the "
                       "batch dimension", "high"),
    "resize": Rule(f"{DOCUMENTED}; {OBSERVED}", "table, ResizeBilinear / ResizeNearestNeighbor: 'Depending on "
                   "input/output size, this operation may not be mapped'. Seen with RESIZE_BILINEAR: 33x33 -> 33x33 "
                   "mapped, 33x33 -> 513x513 and 1x1 -> 33x33 left on the CPU; RESIZE_NEAREST_NEIGHBOR doubling "
                   "10x10, 20x20 and 40x40 inputs mapped (YOLOv8n necks), so doubling up to 40x40 maps; other "
                   "sizes are unknown", "medium",
        cpu_seen="RESIZE_BILINEAR 1x1 -> 33x33 (DeepLab) and 33x33 -> 513x513 (fixture)"),
    "transpose-size": Rule(OBSERVED, "Ultralytics YOLOv8n heads (tests/data/yolo, README section 7 logs): "
                           "TRANSPOSE (1, 20, 20, 72) -> (1, 72, 20, 20), 28,800 elements, output innermost 20, was "
                           "mapped; (1, 40, 40, 68) -> (1, 68, 40, 40), 108,800 elements, innermost 40, and larger ones "
                           "were not ('unspecified limitation'). Between the two: uncertain", "medium",
        cpu_seen="the YOLOv8n heads' 40x40 and 80x80 TRANSPOSE (tests/data/yolo)"),
    "activation-dimension": Rule(OBSERVED, "README section 7 logs: RESHAPE into (1, 9408, 15) mapped, into "
                                 "(1, 19200, 15) not; CONCATENATION into (1, 12348, 15) mapped, into (1, 25200, 15) "
                                 "not; QUANTIZE of (1, 16384) mapped (section 6), of (1, 25200, 15) not. The "
                                 "largest dimension decides, not the element count (288,000 elements mapped as "
                                 "(1, 6400, 3, 15) and cut as (1, 19200, 15)); between the bounds: uncertain", "medium",
        cpu_seen="YOLOv5n at 640: RESHAPE, CONCATENATION and QUANTIZE (compiler 16 log, README section 7)"),
    "tile-broadcast": Rule(OBSERVED, "a TILE broadcasting a (1, 1, 1, C) map to (1, 33, 33, C) vanished into the "
                           "Edge TPU segment (TILE is not in the table); other tilings are unknown", "medium"),
}

# "Supported operations": op -> the oldest Edge TPU runtime that runs it.
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
# Quantized LSTMs keep their cell state in int16 (TFLite's quantization spec for LSTM).
LSTM_OPS = {"LSTM", "UNIDIRECTIONAL_SEQUENCE_LSTM"}
DOCUMENTED_SOFTMAX_ELEMENTS = 16000
OBSERVED_SOFTMAX_ELEMENTS = 16384
# Ops computing a tensor's shape at run time, and what carries such a shape on to a RESHAPE.
SHAPE_OPS = {"SHAPE"}
SHAPE_CARRIERS = {"STRIDED_SLICE", "PACK", "CONCATENATION", "GATHER", "SLICE", "MUL", "CAST", "REDUCE_PROD"}
# Resize sizes compiler 16 was seen with, (input HxW, output HxW) -> mapped?
OBSERVED_RESIZES = {"RESIZE_BILINEAR": {((33, 33), (33, 33)): True, ((33, 33), (513, 513)): False}}
# Resizes that double their input, mapped up to this input side (YOLOv8n necks: 10, 20 and 40).
DOUBLING_MAPPED = {"RESIZE_NEAREST_NEIGHBOR": 40}
# TRANSPOSE: (elements, output innermost dimension) of the largest mapped and the smallest unmapped
# one seen (rule transpose-size): at or below the first both: mapped; at or above the second both: CPU.
TRANSPOSE_MAPPED = (28_800, 20)
TRANSPOSE_UNMAPPED = (104_000, 40)  # the 40x40 level's TRANSPOSE of any YOLOv8 head (C >= 65 channels)
# Largest activation dimension: (largest mapped, smallest unmapped) seen, per op (rule activation-dimension).
DIMENSION_BOUNDS = {"RESHAPE": (9_408, 19_200), "CONCATENATION": (12_348, 25_200), "QUANTIZE": (16_384, 25_200)}
# Inputs the per-op limits read: op -> how many leading inputs must be present.
READ_INPUTS = {"TRANSPOSE": 1, "FULLY_CONNECTED": 2, "SOFTMAX": 1, "MEAN": 2, "SUM": 2, "PAD": 2, "SPLIT": 2, "TILE": 2,
               "RESIZE_BILINEAR": 1, "RESIZE_NEAREST_NEIGHBOR": 1, "STRIDED_SLICE": 4}
# Ops whose weights input is 1 and bias input 2 (TRANSPOSE_CONV: weights 1, bias 3).
WEIGHT_OPS = {"CONV_2D": 2, "DEPTHWISE_CONV_2D": 2, "FULLY_CONNECTED": 2, "TRANSPOSE_CONV": 3}
# Section 6 of the reference notes: a Dense took int8 weights + 8 bytes per output unit (int32 bias
# plus the per-channel requantization data).
BYTES_PER_OUTPUT_CHANNEL = 8
# The Edge TPU has about 8 MiB of parameter memory, but compiler 16's summaries show about 7.0 MiB
# usable for caching (used + remaining: 6.02 + 1.02, 5.90 + 1.16 MiB) and the second model already
# streamed 41.75 KiB. The estimate was 0.80-0.91 of the compiled parameter bytes of the convolutional
# reference models and never above them: up to 5 MiB stays below ~6.3 MiB compiled (fits), above
# 7 MiB the compiled parameters cannot fit (streams), in between it may stream.
CACHE_SURELY_FITS = 5 * 1024**2
CACHE_BYTES = 7 * 1024**2
NOT_SUPPORTED = "Operation not supported"
ONE_SUBGRAPH = "More than one subgraph is not supported"


@dataclass(frozen=True)
class Verdict:
    """What one rule says about one op on its own account."""
    placement: str  # "edgetpu", "cpu" or "uncertain"
    rule: str  # key of RULES
    reason: str | None = None
    passed: tuple = ()  # rules checked before, that let the op through


@dataclass
class OpPrediction:
    index: int
    op: str
    placement: str  # "edgetpu", "cpu" or "uncertain"
    rule: str  # the rule that decided it (see Prediction.rules)
    reason: str | None = None  # why it is not on the Edge TPU, or why that is uncertain
    rules: list = field(default_factory=list)  # every rule that had a say: the deciding one last


@dataclass
class Prediction:
    ops: list
    blockers: list = field(default_factory=list)  # reasons the compiler refuses the whole model
    min_runtime_version: int = 14
    multiple_subgraphs: bool = False
    parameter_bytes: int = 0  # estimated parameters of the ops placed on the Edge TPU
    parameter_bytes_uncertain: int = 0  # more parameters, if the uncertain ops map

    @property
    def ops_on_cpu(self):
        return _count(self.ops, "cpu")

    @property
    def ops_uncertain(self):
        return _count(self.ops, "uncertain")

    @property
    def ops_edgetpu(self):
        return sum(op.placement == "edgetpu" for op in self.ops)

    @property
    def ops_cpu(self):
        return sum(op.placement == "cpu" for op in self.ops)

    @property
    def segments(self):
        """Edge TPU segments, each compiled into one edgetpu-custom-op: one when any op maps (the
        segment follows dependencies, not file order); with -a, each run of consecutive ops not on
        the CPU."""
        on_chip = [op.placement != "cpu" for op in self.ops]
        if not self.multiple_subgraphs:
            return int(any(on_chip))
        return sum(1 for i, mapped in enumerate(on_chip) if mapped and (i == 0 or not on_chip[i - 1]))

    @property
    def fully_mapped(self):
        return not self.blockers and self.ops_edgetpu == len(self.ops)

    @property
    def parameter_memory(self):
        """"fits", "may_stream" or "streams": the estimate against the usable parameter cache."""
        return cache_verdict(self.parameter_bytes + self.parameter_bytes_uncertain)

    def as_dict(self):
        used = sorted({rule for op in self.ops for rule in op.rules})
        return {**asdict(self), "ops_edgetpu": self.ops_edgetpu, "ops_cpu": self.ops_cpu,
                "ops_uncertain_count": sum(self.ops_uncertain.values()), "ops_on_cpu": self.ops_on_cpu,
                "ops_uncertain": self.ops_uncertain, "segments": self.segments, "fully_mapped": self.fully_mapped,
                "parameter_memory": self.parameter_memory, "cache_bytes": CACHE_BYTES, "fits_below_bytes": CACHE_SURELY_FITS,
                "rules": {name: asdict(RULES[name]) for name in used}}


def _count(ops, placement):
    return dict(sorted(Counter(op.op for op in ops if op.placement == placement).items()))


def cache_verdict(parameter_bytes):
    if parameter_bytes <= CACHE_SURELY_FITS:
        return "fits"
    return "may_stream" if parameter_bytes <= CACHE_BYTES else "streams"


def predict(model, min_runtime_version=14, multiple_subgraphs=False):
    """Placement of every op of `model` (a TFLiteModel), in execution order."""
    labels = [f"CUSTOM:{op.name}" if op.is_custom else op.name for op in model.operators]  # as the inspector names ops
    blockers = model_blockers(model)
    if blockers:
        ops = [OpPrediction(i, label, "cpu", blockers[0].rule, "the compiler refuses the whole model: "
                            + blockers[0].reason, [blockers[0].rule]) for i, label in enumerate(labels)]
        return Prediction(ops, [b.reason for b in blockers], min_runtime_version, multiple_subgraphs)
    verdicts = [unless_only_documented(op_verdict(model, op, min_runtime_version)) for op in model.operators]
    # Place the ops twice, once as if every uncertain op maps and once as if none does: where the
    # two agree the placement is decided, elsewhere it hangs on an uncertain op.
    hopeful = segment(model, verdicts, labels, True, multiple_subgraphs)
    doubtful = segment(model, verdicts, labels, False, multiple_subgraphs)
    ops = [merge(i, label, verdicts, hopeful[i], doubtful[i], labels) for i, label in enumerate(labels)]
    certain, extra = parameter_estimate(model, ops)
    return Prediction(ops, [], min_runtime_version, multiple_subgraphs, certain, extra)


def unless_only_documented(verdict):
    """A CPU verdict of a rule no compiled model confirmed (Rule.cpu_seen) becomes uncertain."""
    if verdict.placement != "cpu" or RULES[verdict.rule].cpu_seen:
        return verdict
    return replace(verdict, placement="uncertain", reason=f"{verdict.reason}: Coral's documentation sends it to the "
                   "CPU, but no compiled model seen confirms that rule, and compiler 16 mapped some ops such "
                   "documented limits name")


def segment(model, verdicts, labels, uncertain_maps, multiple_subgraphs):
    """(placement, rule, reason, rules) per op once the single-segment rule is applied, in
    dependency order (README section 7: in a YOLOv8n at 640 the 80x80 head branch after a TRANSPOSE
    left on the CPU was still mapped). An op left on the CPU that reads nothing from the Edge TPU
    segment runs before it (segment-start); one that does reads the segment's output, and every op
    that depends on it runs after the segment, on the CPU ('More than one subgraph is not
    supported'); ops on other branches stay in the segment."""
    produced_by = {index: position for position, op in enumerate(model.operators) for index in op.outputs}
    placed = []
    after_segment = []  # per op: it reads, directly or not, an output of an Edge TPU op
    cut_by = []  # per op: the first op left on the CPU after the segment that it depends on, or None
    for position, (op, verdict) in enumerate(zip(model.operators, verdicts, strict=True)):
        producers = [produced_by[index] for index in op.inputs if index in produced_by]
        reads_segment = any(placed[p][0] == "edgetpu" or after_segment[p] for p in producers)
        cut = next((cut_by[p] for p in producers if cut_by[p] is not None), None)
        mappable = verdict.placement == "edgetpu" or (verdict.placement == "uncertain" and uncertain_maps)
        # An op reading what ops before the segment made: segment-start let it in.
        after_lead_in = any(placed[p][1] == "segment-start" for p in producers)
        own = [*verdict.passed, verdict.rule] + (["segment-start"] if after_lead_in else [])
        if not mappable and not reads_segment and cut is None:
            placed.append(("cpu", "segment-start", f"{verdict.reason} (before the Edge TPU segment)",
                           [*own, "segment-start"]))
        elif not mappable:
            placed.append(("cpu", verdict.rule, verdict.reason, own))
            cut = position if cut is None else cut
        elif cut is not None and not multiple_subgraphs:
            placed.append(("cpu", "single-segment", f"{ONE_SUBGRAPH}: it depends on {labels[cut]} (op {cut}), "
                           "left on the CPU after the Edge TPU segment", [*own, "single-segment"]))
        else:
            placed.append(("edgetpu", verdict.rule, None, own))
            cut = None if multiple_subgraphs else cut
        after_segment.append(reads_segment or placed[-1][0] == "edgetpu")
        cut_by.append(cut if placed[-1][0] == "cpu" and (reads_segment or cut is not None) else None)
    return placed


def merge(index, label, verdicts, hopeful, doubtful, labels):
    """The op's placement where both readings agree on it (the hopeful one's reason: an op left
    after the segment is there whatever its own uncertain verdict), else uncertain and why."""
    if hopeful[0] == doubtful[0]:
        return OpPrediction(index, label, *hopeful)
    verdict = verdicts[index]
    if verdict.placement == "uncertain":
        return OpPrediction(index, label, "uncertain", verdict.rule, verdict.reason, [*verdict.passed, verdict.rule])
    first = next(i for i, v in enumerate(verdicts) if v.placement == "uncertain")
    return OpPrediction(index, label, "uncertain", "single-segment",
                        f"hangs on {labels[first]} (op {first}), whose placement is uncertain: "
                        f"on the Edge TPU if that maps, else {doubtful[0]}", [*doubtful[3], "single-segment"])


def model_blockers(model):
    """Verdicts that make the compiler refuse the whole model ("Model not quantized")."""
    blockers = []
    if not any(_quantized_op(model, op) for op in model.operators):
        blockers.append(Verdict("cpu", "not-quantized", "Model not quantized: no op works on int8/uint8 tensors"))
    reshape = runtime_shape_reshape(model)
    if reshape is not None:
        blockers.append(Verdict("cpu", "runtime-shape", f"shapes computed at run time (SHAPE ... -> RESHAPE op "
                                f"{reshape}), as a dynamic-batch Flatten makes them; export with a static "
                                "batch-1 input signature"))
    return blockers


def _quantized_op(model, op):
    return any(index >= 0 and not model.tensors[index].is_constant and model.tensors[index].dtype in EDGETPU_TYPES
               for index in (*op.inputs, *op.outputs))


def runtime_shape_reshape(model):
    """Index of the first RESHAPE whose shape input is computed from a SHAPE op, or None."""
    produced_by = {out: position for position, op in enumerate(model.operators) for out in op.outputs}

    def from_shape(tensor, seen):
        position = produced_by.get(tensor)
        if position is None or position in seen:
            return False
        op = model.operators[position]
        if op.name in SHAPE_OPS:
            return True
        return op.name in SHAPE_CARRIERS and any(from_shape(i, seen | {position}) for i in op.inputs if i >= 0)

    for position, op in enumerate(model.operators):
        if op.name == "RESHAPE" and len(op.inputs) > 1 and op.inputs[1] >= 0 and from_shape(op.inputs[1], set()):
            return position
    return None


def op_verdict(model, op, min_runtime_version):
    """What the rules say about `op` on its own account, before the single-segment rule."""
    if op.is_custom:
        return Verdict("cpu", "custom-op", f"{NOT_SUPPORTED}: custom op {op.name} (the Edge TPU runs only its own custom op)")
    needed_inputs = READ_INPUTS.get(op.name, 0)
    if len(op.inputs) < needed_inputs or min(op.inputs[:needed_inputs], default=0) < 0:
        return Verdict("cpu", "op-table", f"malformed {op.name}: fewer than {needed_inputs} inputs")
    if not op.outputs:
        return Verdict("cpu", "op-table", f"malformed {op.name}: no output")
    if op.name == "TILE":
        return tile_verdict(model, op)
    needed = SUPPORTED_OPS.get(op.name)
    if needed is None:
        return Verdict("cpu", "op-table", f"{NOT_SUPPORTED}: {op.name} is not in Coral's table of supported operations")
    if needed > min_runtime_version:
        return Verdict("cpu", "runtime-version", f"{op.name} needs Edge TPU runtime {needed} or newer, and the "
                       f"minimum runtime is {min_runtime_version} (compile.min_runtime_version / -m)")
    passed = ["runtime-version"] if needed > 10 else []
    for rule, check in (("data-types", tensor_types), ("rank", tensor_shapes), *OP_LIMITS.get(op.name, ())):
        verdict = check(model, op)
        if verdict is not None:
            return replace(verdict, passed=tuple(passed))
        passed.append(rule)
    if any(model.tensors[i].shape_signature[:1] == (-1,) for i in (*op.inputs, *op.outputs) if i >= 0):
        passed.append("dynamic-batch")
    return Verdict("edgetpu", "op-table", None, tuple(passed))


def tensor_types(model, op):
    """Activations int8/uint8; constant parameters may also be int32 (biases, shapes, axes); an
    LSTM's state int16; int32 parameters must be constant."""
    for position, index in enumerate(op.inputs):
        if index < 0:
            continue
        tensor = model.tensors[index]
        if tensor.dtype == "INT32" and not tensor.is_constant and position > 0:
            return Verdict("cpu", "constant-params", f"Filter, bias, or other param is not constant at "
                           f"compile-time: input {position} ({tensor.name})")
        allowed = set(EDGETPU_TYPES)
        if tensor.is_constant:
            allowed.add("INT32")
        if op.name in LSTM_OPS and (tensor.is_variable or tensor.is_constant):
            allowed.add("INT16")
        if tensor.dtype not in allowed:
            return Verdict("cpu", "data-types", f"Operation is working on an unsupported data type: input "
                           f"{position} ({tensor.name}) is {tensor.dtype}")
    for index in op.outputs:
        tensor = model.tensors[index]
        if tensor.dtype not in EDGETPU_TYPES:
            return Verdict("cpu", "data-types", f"Operation is working on an unsupported data type: output "
                           f"{tensor.name} is {tensor.dtype}")
    return None


def tensor_shapes(model, op):
    """At most the 3 innermost dimensions above 1 (so batch 1); a dynamic batch of static size 1
    is fine (dynamic-batch), other dynamic sizes are not known either way."""
    for index in (*op.inputs, *op.outputs):
        if index < 0 or model.tensors[index].is_constant:
            continue
        tensor = model.tensors[index]
        if any(size > 1 for size in tensor.shape[:-3]) or (len(tensor.shape) >= 2 and tensor.shape[0] != 1):
            return Verdict("cpu", "rank", f"Tensor has unsupported rank (up to 3 innermost dimensions mapped): "
                           f"{tensor.name} {tensor.shape} (the Edge TPU runs batch 1)")
        if -1 in tensor.shape_signature[1:]:
            return Verdict("uncertain", "dynamic-size", f"dynamic size in {tensor.name} {tensor.shape_signature} "
                           "beyond the batch: no compiled model shows what compiler 16 does with it")
    return None


def no_fused_activation(model, op):
    if op.fused_activation not in (None, "NONE"):
        return Verdict("cpu", "fused-activation", f"{op.name} with fused activation {op.fused_activation} "
                       "(the Edge TPU needs none on this op)")
    return None


def fully_connected_limits(model, op):
    """Default weight format and a 1-D output; per-channel weights map (seen with compiler 16)."""
    if op.weights_format not in (None, "DEFAULT"):
        return Verdict("cpu", "fully-connected", f"FULLY_CONNECTED weights in format {op.weights_format} "
                       "(only the default format maps)")
    output = model.tensors[op.outputs[0]]
    if sum(size > 1 for size in output.shape) > 1:
        return Verdict("cpu", "fully-connected", f"FULLY_CONNECTED output {output.shape} is not one-dimensional")
    return None


def softmax_limits(model, op):
    """1-D input only; up to 16,384 elements mapped (above the documented 16,000), beyond unknown."""
    tensor = model.tensors[op.inputs[0]]
    elements = _elements(tensor.shape)
    if sum(size > 1 for size in tensor.shape) > 1:
        return Verdict("uncertain", "softmax", f"SOFTMAX input {tensor.shape} is not 1-D: Coral's table says 1-D "
                       "only, but compiler 16 passed a (1, 4, 2100, 16) SOFTMAX's own checks (YOLOv8n logs)")
    if elements > OBSERVED_SOFTMAX_ELEMENTS:
        return Verdict("uncertain", "softmax", f"SOFTMAX over {elements} elements: above the documented "
                       f"{DOCUMENTED_SOFTMAX_ELEMENTS}, which compiler 16 exceeded up to {OBSERVED_SOFTMAX_ELEMENTS}; "
                       "its real limit is unknown")
    return None


def strided_slice_limits(model, op):
    strides = model.tensors[op.inputs[3]].values
    if strides is None or any(stride != 1 for stride in strides):
        return Verdict("cpu", "strided-slice", f"STRIDED_SLICE strides {strides if strides is not None else '(not constant)'} "
                       "(only strides of 1 map)")
    return None


def axis_limits(axis_input):
    def check(model, op):
        tensor = model.tensors[op.inputs[axis_input]]
        data = model.tensors[op.inputs[1 - axis_input]]
        if tensor.values is None:
            return Verdict("cpu", "constant-params", f"{op.name} axis/paddings not constant")
        if op.name == "PAD":
            touches_batch = any(tensor.values[:2])  # paddings: [[before, after], ...], batch first
        else:
            touches_batch = any(axis in (0, -len(data.shape)) for axis in tensor.values)
        if touches_batch:
            return Verdict("cpu", "batch-axis", f"{op.name} along the batch dimension ({tensor.name} = {list(tensor.values)})")
        return None

    return check


def resize_limits(model, op):
    """Sizes compiler 16 was seen with decide; a 1-pixel input stays on the CPU; anything else is
    uncertain (Coral: 'may not be mapped depending on input/output size')."""
    source, result = model.tensors[op.inputs[0]].shape, model.tensors[op.outputs[0]].shape
    if len(source) != 4 or len(result) != 4:
        return Verdict("uncertain", "resize", f"{op.name} from {source} to {result}: not an image resize seen compiled")
    sizes = (tuple(source[1:3]), tuple(result[1:3]))
    if 1 in sizes[0]:
        return Verdict("cpu", "resize", f"{op.name} from a {sizes[0][0]}x{sizes[0][1]} input (left on the CPU in "
                       "compiled models: not a 3-dimensional image)")
    seen = OBSERVED_RESIZES.get(op.name, {}).get(sizes)
    if seen is True or (op.name in DOUBLING_MAPPED and sizes[1] == (2 * sizes[0][0], 2 * sizes[0][1])
                        and max(sizes[0]) <= DOUBLING_MAPPED[op.name]):
        return None
    described = f"{op.name} {sizes[0][0]}x{sizes[0][1]} -> {sizes[1][0]}x{sizes[1][1]}"
    if seen is False:
        return Verdict("cpu", "resize", f"{described}: left on the CPU by compiler 16 ('may not be mapped to the "
                       "Edge TPU to avoid loss in precision')")
    return Verdict("uncertain", "resize", f"{described}: Coral says resizes may stay on the CPU depending on sizes "
                   "and no compiled model with these sizes is known")


def transpose_limits(model, op):
    """Mapped within the largest TRANSPOSE seen mapped, on the CPU beyond the smallest seen cut,
    uncertain in between (rule transpose-size)."""
    source, result = model.tensors[op.inputs[0]].shape, model.tensors[op.outputs[0]].shape
    elements, innermost = _elements(source), (result[-1] if result else 1)
    if elements <= TRANSPOSE_MAPPED[0] and innermost <= TRANSPOSE_MAPPED[1]:
        return None
    described = f"TRANSPOSE {source} -> {result} ({elements:,} elements, output innermost {innermost})"
    if elements >= TRANSPOSE_UNMAPPED[0] and innermost >= TRANSPOSE_UNMAPPED[1]:
        return Verdict("cpu", "transpose-size", f"{described}: otherwise supported, but not mapped due to some "
                       f"unspecified limitation (compiler 16 cut every TRANSPOSE from {TRANSPOSE_UNMAPPED[0]:,} "
                       f"elements and innermost {TRANSPOSE_UNMAPPED[1]} seen)")
    return Verdict("uncertain", "transpose-size", f"{described}: between the largest seen mapped "
                   f"({TRANSPOSE_MAPPED[0]:,} elements, innermost {TRANSPOSE_MAPPED[1]}) and the smallest seen cut "
                   f"({TRANSPOSE_UNMAPPED[0]:,}, {TRANSPOSE_UNMAPPED[1]})")


def dimension_limits(model, op):
    """The largest dimension of the op's activations against the bounds seen (rule activation-dimension)."""
    mapped, unmapped = DIMENSION_BOUNDS[op.name]
    largest = max((max(model.tensors[index].shape, default=1) for index in (*op.inputs, *op.outputs)
                   if index >= 0 and not model.tensors[index].is_constant), default=1)
    if largest <= mapped:
        return None
    if largest >= unmapped:
        return Verdict("cpu", "activation-dimension", f"{op.name} with a dimension of {largest:,}: otherwise "
                       f"supported, but not mapped due to some unspecified limitation (compiler 16 cut {op.name} "
                       f"from a dimension of {unmapped:,})")
    return Verdict("uncertain", "activation-dimension", f"{op.name} with a dimension of {largest:,}: between the "
                   f"largest seen mapped ({mapped:,}) and the smallest seen cut ({unmapped:,})")


def tile_verdict(model, op):
    """TILE is not in the table, but a broadcast of a (1, 1, 1, C) map over height and width was
    absorbed into the segment; other broadcasts are unknown; a real repetition stays on the CPU."""
    source, multiples = model.tensors[op.inputs[0]].shape, model.tensors[op.inputs[1]].values
    if multiples is None or len(multiples) != len(source):
        return Verdict("cpu", "op-table", f"{NOT_SUPPORTED}: TILE with multiples not constant")
    repeated = [axis for axis, times in enumerate(multiples) if times != 1]
    if any(source[axis] != 1 for axis in repeated):
        return Verdict("cpu", "op-table", f"{NOT_SUPPORTED}: TILE repeating data {source} x {list(multiples)} "
                       "(not in Coral's table; only broadcasts were seen absorbed)")
    types = tensor_types(model, op)
    if types is not None and types.rule != "constant-params":
        return replace(types, passed=("tile-broadcast",))
    if len(source) == 4 and source[:3] == (1, 1, 1) and repeated == [1, 2]:
        return Verdict("edgetpu", "tile-broadcast")
    return Verdict("uncertain", "tile-broadcast", f"TILE broadcasting {source} x {list(multiples)}: compiler 16 "
                   "absorbed a (1, 1, 1, C) -> (1, H, W, C) broadcast; this one has another shape")


# op -> (rule, check) pairs: the per-op limits of the table, as compiler 16 applies them.
OP_LIMITS = {
    "AVERAGE_POOL_2D": [("fused-activation", no_fused_activation)],
    "MAX_POOL_2D": [("fused-activation", no_fused_activation)],
    "CONCATENATION": [("fused-activation", no_fused_activation), ("activation-dimension", dimension_limits)],
    "RESHAPE": [("activation-dimension", dimension_limits)],
    "QUANTIZE": [("activation-dimension", dimension_limits)],
    "TRANSPOSE": [("transpose-size", transpose_limits)],
    "FULLY_CONNECTED": [("fully-connected", fully_connected_limits)],
    "SOFTMAX": [("softmax", softmax_limits)],
    "STRIDED_SLICE": [("strided-slice", strided_slice_limits)],
    "MEAN": [("batch-axis", axis_limits(1))],
    "SUM": [("batch-axis", axis_limits(1))],
    "PAD": [("batch-axis", axis_limits(1))],
    "SPLIT": [("batch-axis", axis_limits(0))],
    "RESIZE_BILINEAR": [("resize", resize_limits)],
    "RESIZE_NEAREST_NEIGHBOR": [("resize", resize_limits)],
}


def _elements(shape):
    count = 1
    for size in shape:
        count *= size
    return count


def parameter_estimate(model, ops):
    """(bytes of the ops on the Edge TPU, more bytes of the uncertain ones): int8 weights and
    constants once each, plus BYTES_PER_OUTPUT_CHANNEL per output channel of weighted ops."""
    counted, totals = set(), {"edgetpu": 0, "uncertain": 0}
    for prediction, op in zip(ops, model.operators, strict=True):
        if prediction.placement in totals:
            totals[prediction.placement] += _op_parameters(model, op, counted)
    return totals["edgetpu"], totals["uncertain"]


def _op_parameters(model, op, counted):
    total = 0
    for index in op.inputs:
        tensor = model.tensors[index] if index >= 0 else None
        if tensor is None or not tensor.is_constant or index in counted or tensor.dtype not in EDGETPU_TYPES | {"INT16"}:
            continue
        counted.add(index)
        total += _elements(tensor.shape) * (2 if tensor.dtype == "INT16" else 1)
    if op.name in WEIGHT_OPS and op.outputs:
        output = model.tensors[op.outputs[0]]
        total += BYTES_PER_OUTPUT_CHANNEL * (output.shape[-1] if output.shape else 1)
    elif op.name in LSTM_OPS:
        total += BYTES_PER_OUTPUT_CHANNEL * sum(_elements(model.tensors[i].shape) for i in op.inputs
                                                if i >= 0 and model.tensors[i].dtype == "INT32" and model.tensors[i].is_constant)
    return total


def compare(prediction, inspection):
    """Differences between a prediction and the inspection of the compiled model (both as their
    JSON dicts); [] when they agree. Ops predicted uncertain may fall either way."""
    differences = []
    compiled = Counter(inspection["ops_on_cpu"])
    certain = Counter(prediction["ops_on_cpu"])
    either = certain + Counter(prediction.get("ops_uncertain", {}))
    if not certain <= compiled or not compiled <= either:
        differences.append(f"ops on the CPU: predicted {prediction['ops_on_cpu'] or 'none'}"
                           + (f" (uncertain: {prediction['ops_uncertain']})" if prediction.get("ops_uncertain") else "")
                           + f", compiled {inspection['ops_on_cpu'] or 'none'}")
    if not prediction.get("ops_uncertain") and prediction["segments"] != inspection["edgetpu_segments"]:
        differences.append(f"Edge TPU segments: predicted {prediction['segments']}, "
                           f"compiled {inspection['edgetpu_segments']}")
    return differences
