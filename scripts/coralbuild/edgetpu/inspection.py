"""Inspect a compiled `*_edgetpu.tflite`: Edge TPU segments, ops left on the CPU, and what the
compiler stored in each segment's package (minimum runtime version, compiler version).

Works on models compiled anywhere. Facts used: each Edge TPU segment is one CUSTOM operator
`edgetpu-custom-op`; ops left on the CPU stay builtin operators of the same graph; the custom
op's options are a FlexBuffer map whose key "4" holds a flatbuffer package (identifier DWN1,
schema `executable.fbs` in google-coral/libedgetpu).
"""

from collections import Counter
from dataclasses import asdict, dataclass, field

import flatbuffers
from flatbuffers import flexbuffers
from flatbuffers.number_types import Int32Flags, UOffsetTFlags
from flatbuffers.table import Table

from coralbuild.errors import BadInput
from coralbuild.edgetpu.tflite_model import read_tflite

EDGETPU_CUSTOM_CODE = "edgetpu-custom-op"
PACKAGE_KEY = "4"
PACKAGE_IDENTIFIER = b"DWN1"
# Field slots of `table Package` in libedgetpu's executable.fbs (declaration order).
PACKAGE_MIN_RUNTIME_VERSION_SLOT = 0
PACKAGE_COMPILER_VERSION_SLOT = 4


@dataclass
class Inspection:
    ops_total: int  # operators in the compiled graph (each segment counts as one)
    edgetpu_segments: int
    ops_on_cpu: dict  # op type -> count; other custom ops as "CUSTOM:<code>"
    min_runtime_version: int | None  # the highest any segment requires
    compiler_versions: list = field(default_factory=list)
    source_ops: int | None = None
    ops_mapped: int | None = None  # source ops - ops left on the CPU (ops the compiler took)

    @property
    def ops_cpu(self):
        return sum(self.ops_on_cpu.values())

    def as_dict(self):
        return {**asdict(self), "ops_cpu": self.ops_cpu}


def inspect_compiled(path, source=None):
    """Inspect the compiled model at `path`; with `source` (its input model), count ops mapped."""
    model = read_tflite(path)
    segments = [op for op in model.operators if op.name == EDGETPU_CUSTOM_CODE]
    packages = [_package_fields(path, index, op.custom_options) for index, op in enumerate(segments)]
    left = Counter(f"CUSTOM:{op.name}" if op.is_custom else op.name
                   for op in model.operators if op.name != EDGETPU_CUSTOM_CODE)
    inspection = Inspection(
        ops_total=len(model.operators),
        edgetpu_segments=len(segments),
        ops_on_cpu=dict(sorted(left.items())),
        min_runtime_version=max((runtime for runtime, _ in packages if runtime is not None), default=None),
        compiler_versions=sorted({version for _, version in packages if version is not None}),
    )
    if source is not None:
        inspection.source_ops = len(read_tflite(source).operators)
        inspection.ops_mapped = inspection.source_ops - inspection.ops_cpu
    return inspection


def format_ops(ops_on_cpu):
    """"ARG_MAX x1; CONV_2D x2" (empty when nothing is left on the CPU)."""
    return "; ".join(f"{name} x{count}" for name, count in sorted(ops_on_cpu.items()))


def _package_fields(path, index, custom_options):
    """(min_runtime_version, compiler_version) from one segment's custom options."""
    try:
        package_ref = flexbuffers.GetRoot(custom_options).AsMap[PACKAGE_KEY]
        # The compiler stores the package as a FlexBuffer string of binary bytes; accept a blob too.
        package = bytes(package_ref.AsStringBytes if package_ref.IsString else package_ref.AsBlob)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
        raise BadInput(f"{path}: {EDGETPU_CUSTOM_CODE} #{index} has no readable Edge TPU package ({error})") from None
    if len(package) < 8 or not flatbuffers.util.BufferHasIdentifier(package, 0, PACKAGE_IDENTIFIER):
        raise BadInput(f"{path}: {EDGETPU_CUSTOM_CODE} #{index} package lacks the DWN1 identifier")
    try:
        table = Table(package, flatbuffers.encode.Get(UOffsetTFlags.packer_type, package, 0))
        runtime_offset = table.Offset(4 + 2 * PACKAGE_MIN_RUNTIME_VERSION_SLOT)
        version_offset = table.Offset(4 + 2 * PACKAGE_COMPILER_VERSION_SLOT)
        runtime = table.Get(Int32Flags, runtime_offset + table.Pos) if runtime_offset else None
        version = table.String(version_offset + table.Pos).decode("utf-8", "replace") if version_offset else None
    except (IndexError, ValueError, TypeError, UnicodeDecodeError) as error:
        raise BadInput(f"{path}: {EDGETPU_CUSTOM_CODE} #{index} package is corrupt ({error})") from None
    return runtime, version
