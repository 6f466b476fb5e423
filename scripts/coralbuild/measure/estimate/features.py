"""What the latency estimate reads from a model: the bytes that cross the link to the Edge TPU at
every inference, the multiply-accumulates the Edge TPU runs, and the time of the ops left on the
CPU, measured on this host.

Two bases, as the issue asks: the compiled package (`*_edgetpu.tflite`: its segments' input and
output tensors, streamed parameters and instruction streams, as the compiler wrote them), or the
int8 model with the placement prediction (its predicted segment's edges, the predicted parameters
beyond the Edge TPU's cache; no instruction streams, which only the compiler knows).
"""

from dataclasses import asdict, dataclass, field

import numpy as np

from coralbuild.edgetpu import placement
from coralbuild.edgetpu.inspection import EDGETPU_CUSTOM_CODE, compiled_placements, read_package
from coralbuild.edgetpu.tflite_model import read_tflite
from coralbuild.errors import BadInput
from coralbuild.measure.estimate.cpu_part import time_cpu_part

COMPILED = "compiled package"
INT8 = "int8 model and placement prediction"
BYTES_PER_ELEMENT = {"INT8": 1, "UINT8": 1, "BOOL": 1, "INT16": 2, "FLOAT16": 2, "INT32": 4, "FLOAT32": 4, "INT64": 8}


@dataclass
class Features:
    basis: str  # COMPILED or INT8
    transfer_bytes: int  # input and output tensors of the Edge TPU segments
    streamed_bytes: int  # parameters sent from the host at every inference
    instruction_bytes: int  # instruction streams sent at every inference (compiled basis only; else 0)
    edgetpu_macs: int  # multiply-accumulates of the ops on the Edge TPU (0 when unknown)
    cpu_ms: float  # ops left on the CPU, timed on this host (one thread)
    cpu_relative: float  # that time in units of the reference CPU part's (cpu_part.py), timed beside it
    cpu_ops: list = field(default_factory=list)  # their names
    cpu_untimed: list = field(default_factory=list)  # custom ops this interpreter has no kernel for
    segments: int = 1

    def as_dict(self):
        return asdict(self)


def tensor_bytes(tensor):
    return int(np.prod(tensor.shape, dtype=np.int64)) * BYTES_PER_ELEMENT.get(tensor.dtype, 4)


def macs(model, op):
    """Multiply-accumulates of one op: convolutions and fully connected layers (the rest is small)."""
    if op.name not in placement.WEIGHT_OPS or len(op.inputs) < 2 or not op.outputs:
        return 0
    weights, output = model.tensors[op.inputs[1]], model.tensors[op.outputs[0]]
    out = int(np.prod(output.shape, dtype=np.int64))
    if op.name == "CONV_2D":
        return out * int(np.prod(weights.shape[1:], dtype=np.int64))
    if op.name == "DEPTHWISE_CONV_2D":
        return out * int(np.prod(weights.shape[1:3], dtype=np.int64))
    if op.name == "FULLY_CONNECTED":
        return out * int(weights.shape[-1])
    if op.name == "TRANSPOSE_CONV" and len(op.inputs) > 2:  # inputs: output shape, weights, input
        weights, source = model.tensors[op.inputs[1]], model.tensors[op.inputs[2]]
        return int(np.prod(source.shape, dtype=np.int64)) * int(np.prod(weights.shape[:3], dtype=np.int64))
    return 0


def _edge_bytes(model, on_chip):
    """Bytes of the tensors that enter the ops `on_chip` from outside and that leave them."""
    written = {t for i in on_chip for t in model.operators[i].outputs if t >= 0}
    read = {t for i in on_chip for t in model.operators[i].inputs if t >= 0}
    read_outside = {t for i, op in enumerate(model.operators) if i not in on_chip for t in op.inputs if t >= 0}
    entering = {t for t in read - written if not model.tensors[t].is_constant}
    leaving = {t for t in written if t in read_outside or t in model.outputs}
    return sum(tensor_bytes(model.tensors[t]) for t in entering | leaving)


def compiled_features(compiled, source=None, model=None):
    """Features of a compiled model (with its source model, the Edge TPU's MACs too); `model` is
    the compiled model already read, if it was."""
    model = model or read_tflite(compiled)
    segments = [i for i, op in enumerate(model.operators) if op.name == EDGETPU_CUSTOM_CODE]
    if not segments:
        raise BadInput(f"{compiled}: no Edge TPU segment ({EDGETPU_CUSTOM_CODE}): nothing runs on the Edge TPU to estimate")
    packages = [read_package(compiled, n, model.operators[i].custom_options) for n, i in enumerate(segments)]
    transfer = sum(tensor_bytes(model.tensors[t]) for i in segments
                   for t in (*model.operators[i].inputs, *model.operators[i].outputs) if t >= 0)
    edgetpu_macs = 0
    if source is not None:
        source_model = read_tflite(source)
        placed = compiled_placements(source, compiled, source_model=source_model, compiled_model=model)
        edgetpu_macs = sum(macs(source_model, op) for op, where in zip(source_model.operators, placed, strict=True)
                           if where == "edgetpu")
    cpu = [i for i in range(len(model.operators)) if i not in segments]
    return Features(COMPILED, transfer, sum(p.streamed_bytes or 0 for p in packages),
                    sum(p.instruction_bytes or 0 for p in packages), edgetpu_macs,
                    *_cpu_time(compiled, model, cpu), segments=len(segments))


def int8_features(int8, prediction=None, model=None):
    """Features of an int8 model from the placement prediction (made here when not given); an op
    predicted uncertain counts as mapped, the compiler's usual choice in the evidence. `model` is
    the int8 model already read, if it was."""
    model = model or read_tflite(int8)
    if not any(t.dtype in placement.EDGETPU_TYPES for t in model.tensors if not t.is_constant):
        raise BadInput(f"{int8}: a float model (no int8 tensor): the Edge TPU runs fully int8 models; "
                       "quantize it first (quantize_int8, or a brought int8 .tflite)")
    prediction = prediction or placement.predict(model)
    if prediction.blockers or prediction.segments == 0:
        reason = prediction.blockers[0] if prediction.blockers else "every op is predicted to stay on the CPU"
        raise BadInput(f"{int8}: no Edge TPU segment is predicted ({reason}): nothing runs on the Edge TPU to estimate")
    on_chip = {op.index for op in prediction.ops if op.placement != "cpu"}
    # The compiler caches what fits and streams the rest: compiler 2.1 cached 6.86 MiB and streamed
    # 1.22 MiB of an 8.11 MiB model (tests/data/compiler-output/v21_partial_mapping.stdout).
    parameters = prediction.parameter_bytes + prediction.parameter_bytes_uncertain
    streamed = max(0, parameters - placement.CACHE_BYTES)
    edgetpu_macs = sum(macs(model, model.operators[i]) for i in on_chip)
    cpu = [i for i in range(len(model.operators)) if i not in on_chip]
    return Features(INT8, _edge_bytes(model, on_chip), streamed, 0, edgetpu_macs,
                    *_cpu_time(int8, model, cpu), segments=prediction.segments)


def _cpu_time(path, model, cpu):
    names = [op.name for op in model.operators]
    cpu_ms, relative, untimed = time_cpu_part(path, cpu, names)
    return cpu_ms, relative, [names[i] for i in cpu], untimed
