"""Inspect a compiled `*_edgetpu.tflite`: Edge TPU segments, ops left on the CPU, and what the
compiler stored in each segment's package (minimum runtime version, compiler version).

Works on models compiled anywhere. Facts used: each Edge TPU segment is one CUSTOM operator
`edgetpu-custom-op`; ops left on the CPU stay builtin operators of the same graph; the custom
op's options are a FlexBuffer map whose key "4" holds a flatbuffer package (identifier DWN1,
schema `executable.fbs` in google-coral/libedgetpu). The package's serialized MultiExecutable
holds either a PARAMETER_CACHING executable (its parameters are cached in the Edge TPU's SRAM)
with an EXECUTION_ONLY one (its parameters, those that did not fit, are streamed at every
inference), or one STAND_ALONE executable (all its parameters streamed).
"""

import struct
from collections import Counter
from dataclasses import asdict, dataclass, field

import flatbuffers
from flatbuffers import flexbuffers
from flatbuffers.number_types import Int16Flags, Int32Flags, UOffsetTFlags
from flatbuffers.table import Table

from coralbuild.edgetpu.tflite_model import read_tflite
from coralbuild.errors import BadInput

EDGETPU_CUSTOM_CODE = "edgetpu-custom-op"
PACKAGE_KEY = "4"
PACKAGE_IDENTIFIER = b"DWN1"
# Field slots (declaration order) of the tables read from libedgetpu's executable.fbs.
PACKAGE_MIN_RUNTIME_VERSION_SLOT = 0
PACKAGE_MULTI_EXECUTABLE_SLOT = 1  # [ubyte]: a serialized MultiExecutable
PACKAGE_COMPILER_VERSION_SLOT = 4
MULTI_EXECUTABLE_EXECUTABLES_SLOT = 0  # [string]: each a serialized Executable
EXECUTABLE_INSTRUCTIONS_SLOT = 5  # [InstructionBitstream]: tables whose slot 0 is the [ubyte] bitstream
EXECUTABLE_PARAMETERS_SLOT = 6  # [ubyte]
EXECUTABLE_TYPE_SLOT = 13  # short; absent means STAND_ALONE
PARAMETER_CACHING = 1


@dataclass
class Inspection:
    ops_total: int  # operators in the compiled graph (each segment counts as one)
    edgetpu_segments: int
    ops_on_cpu: dict  # op type -> count; other custom ops as "CUSTOM:<code>"
    min_runtime_version: int | None  # the highest any segment requires
    compiler_versions: list = field(default_factory=list)
    source_ops: int | None = None
    ops_mapped: int | None = None  # source ops - ops left on the CPU (ops the compiler took)
    onchip_bytes: int | None = None  # parameters cached in the Edge TPU's memory (all segments)
    offchip_bytes: int | None = None  # parameters streamed from the host at every inference

    @property
    def ops_cpu(self):
        return sum(self.ops_on_cpu.values())

    def as_dict(self):
        return {**asdict(self), "ops_cpu": self.ops_cpu}


def inspect_compiled(path, source=None):
    """Inspect the compiled model at `path`; with `source` (its input model), count ops mapped."""
    model = read_tflite(path)
    segments = [op for op in model.operators if op.name == EDGETPU_CUSTOM_CODE]
    packages = [read_package(path, index, op.custom_options) for index, op in enumerate(segments)]
    left = Counter(f"CUSTOM:{op.name}" if op.is_custom else op.name
                   for op in model.operators if op.name != EDGETPU_CUSTOM_CODE)
    inspection = Inspection(
        ops_total=len(model.operators),
        edgetpu_segments=len(segments),
        ops_on_cpu=dict(sorted(left.items())),
        min_runtime_version=max((p.min_runtime_version for p in packages if p.min_runtime_version is not None),
                                default=None),
        compiler_versions=sorted({package.compiler_version for package in packages if package.compiler_version}),
        onchip_bytes=_total(package.cached_bytes for package in packages),
        offchip_bytes=_total(package.streamed_bytes for package in packages),
    )
    if source is not None:
        inspection.source_ops = len(read_tflite(source).operators)
        inspection.ops_mapped = inspection.source_ops - inspection.ops_cpu
    return inspection


def format_ops(ops_on_cpu):
    """"ARG_MAX x1; CONV_2D x2" (empty when nothing is left on the CPU)."""
    return "; ".join(f"{name} x{count}" for name, count in sorted(ops_on_cpu.items()))


@dataclass(frozen=True)
class Package:
    min_runtime_version: int | None
    compiler_version: str | None
    cached_bytes: int | None  # parameters of the PARAMETER_CACHING executable; None: no executables
    streamed_bytes: int | None  # parameters of the executables that run (EXECUTION_ONLY or STAND_ALONE)
    instruction_bytes: int | None = None  # instruction bitstreams of those executables (sent at every inference)


def read_package(path, index, custom_options):
    """The Package of one segment's custom options; BadInput names the file and segment."""
    try:
        package_ref = flexbuffers.GetRoot(custom_options).AsMap[PACKAGE_KEY]
        # The compiler stores the package as a FlexBuffer string of binary bytes; accept a blob too.
        package = bytes(package_ref.AsStringBytes if package_ref.IsString else package_ref.AsBlob)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
        raise BadInput(f"{path}: {EDGETPU_CUSTOM_CODE} #{index} has no readable Edge TPU package ({error})") from None
    if len(package) < 8 or not flatbuffers.util.BufferHasIdentifier(package, 0, PACKAGE_IDENTIFIER):
        raise BadInput(f"{path}: {EDGETPU_CUSTOM_CODE} #{index} package lacks the DWN1 identifier")
    try:
        table = _root(package)
        runtime = _scalar(table, PACKAGE_MIN_RUNTIME_VERSION_SLOT, Int32Flags)
        version_offset = table.Offset(4 + 2 * PACKAGE_COMPILER_VERSION_SLOT)
        version = table.String(version_offset + table.Pos).decode("utf-8", "replace") if version_offset else None
        cached, streamed, instructions = _executable_bytes(_bytes(table, PACKAGE_MULTI_EXECUTABLE_SLOT))
    # Offsets read from untrusted bytes fail in these ways inside the flatbuffers library.
    except (IndexError, ValueError, TypeError, UnicodeDecodeError, struct.error) as error:
        raise BadInput(f"{path}: {EDGETPU_CUSTOM_CODE} #{index} package is corrupt ({type(error).__name__}: {error})") from None
    return Package(runtime, version, cached, streamed, instructions)


def _executable_bytes(multi_executable):
    """(cached parameter, streamed parameter, per-inference instruction) bytes over the executables
    of a serialized MultiExecutable; all None for a package without one (not known, not zero)."""
    if not multi_executable:
        return None, None, None
    multi = _root(multi_executable)
    offset = multi.Offset(4 + 2 * MULTI_EXECUTABLE_EXECUTABLES_SLOT)
    if not offset:
        return None, None, None
    vector, cached, streamed, instructions = multi.Vector(offset), 0, 0, 0
    for position in range(multi.VectorLen(offset)):
        element = vector + 4 * position
        start = element + flatbuffers.encode.Get(UOffsetTFlags.packer_type, multi.Bytes, element)
        length = flatbuffers.encode.Get(UOffsetTFlags.packer_type, multi.Bytes, start)
        executable = _root(bytes(multi.Bytes[start + 4:start + 4 + length]))
        parameters = _vector_length(executable, EXECUTABLE_PARAMETERS_SLOT)
        if _scalar(executable, EXECUTABLE_TYPE_SLOT, Int16Flags) == PARAMETER_CACHING:
            cached += parameters
        else:
            streamed += parameters
            instructions += _instruction_bytes(executable)
    return cached, streamed, instructions


def _instruction_bytes(executable):
    offset = executable.Offset(4 + 2 * EXECUTABLE_INSTRUCTIONS_SLOT)
    if not offset:
        return 0
    vector = executable.Vector(offset)
    return sum(_vector_length(Table(executable.Bytes, executable.Indirect(vector + 4 * position)), 0)
               for position in range(executable.VectorLen(offset)))


def _total(values):
    """The sum, or None when there is nothing to add up or a part is unknown."""
    values = list(values)
    return None if not values or None in values else sum(values)


def _root(data):
    if len(data) < 4:
        raise ValueError(f"a flatbuffer of {len(data)} bytes")
    return Table(data, flatbuffers.encode.Get(UOffsetTFlags.packer_type, data, 0))


def _scalar(table, slot, flags):
    offset = table.Offset(4 + 2 * slot)
    return table.Get(flags, offset + table.Pos) if offset else None


def _vector_length(table, slot):
    offset = table.Offset(4 + 2 * slot)
    return table.VectorLen(offset) if offset else 0


def _bytes(table, slot):
    offset = table.Offset(4 + 2 * slot)
    if not offset:
        return b""
    start = table.Vector(offset)
    return bytes(table.Bytes[start:start + table.VectorLen(offset)])


def compiled_placements(source, compiled, source_model=None, compiled_model=None):
    """"edgetpu" or "cpu" for every op of the source model, as the compiler placed it: an op left
    on the CPU stays in the compiled graph with its output tensors' names, the others are gone
    into an edgetpu-custom-op (or were folded away by the compiler). `source_model` and
    `compiled_model`: the two models already read, where the caller has them."""
    left = {(op.name, tuple(model.tensors[i].name for i in op.outputs))
            for model in [compiled_model or read_tflite(compiled)] for op in model.operators
            if op.name != EDGETPU_CUSTOM_CODE}
    model = source_model or read_tflite(source)
    return ["cpu" if (op.name, tuple(model.tensors[i].name for i in op.outputs)) in left else "edgetpu"
            for op in model.operators]
