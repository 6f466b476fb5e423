"""The compiler-output parser against every real sample in tests/data/compiler-output."""

import pytest

from conftest import PROJECT
from coralbuild.edgetpu.compiler_output import parse_compiler_output

KiB, MiB = 1024, 1024**2
SAMPLES = PROJECT / "tests/data/compiler-output"  # see its NOTICE
MAPPED, SUBGRAPH = "Mapped to Edge TPU", "More than one subgraph is not supported"

EXPECTED = {
    "v14_tiny_yolo_edgetpu.log": {
        "compiler_version": "14.1.317412892", "succeeded": False, "input_model": "tiny_yolo.tflite",
        "output_model": "tiny_yolo_edgetpu.tflite", "failure_kind": None,
        "operations": [
            ("CONCATENATION", 1, SUBGRAPH), ("MAX_POOL_2D", 6, MAPPED),
            ("RESIZE_NEAREST_NEIGHBOR", 1, "Operation version not supported"), ("CONV_2D", 11, MAPPED),
            ("CONV_2D", 2, SUBGRAPH),
            ("QUANTIZE", 1, "Operation is otherwise supported, but not mapped due to some unspecified limitation"),
            ("QUANTIZE", 1, SUBGRAPH), ("QUANTIZE", 2, MAPPED),
        ],
    },
    "v15_model_not_quantized.stdout": {
        "compiler_version": "15.0.340273435", "succeeded": False, "failure_kind": "model_not_quantized",
        "operations": [],
    },
    "v16_compilation_failed.stdout": {
        "compiler_version": "16.0.384591198", "succeeded": False, "failure_kind": "compilation_failed",
    },
    "v16_large_activations_failure.stdout": {
        "compiler_version": "16.0.384591198", "succeeded": False, "failure_kind": "large_activations",
    },
    "v16_op_version_not_parsed.stdout": {
        "compiler_version": "16.0.384591198", "succeeded": False, "failure_kind": "op_version_not_parsed",
    },
    "v16_search_delegate_summary.stdout": {
        "compiler_version": "16.0.384591198", "succeeded": True, "compile_time_ms": 2270,
        "input_model": "rede_modelo3_73_segment_0_of_2.tflite",
        "output_model": "rede_modelo3_73_segment_0_of_2_edgetpu.tflite",
        "input_size_bytes": round(5.21 * MiB), "output_size_bytes": round(6.51 * MiB),
        "onchip_used_bytes": round(6.02 * MiB), "onchip_remaining_bytes": round(1.02 * MiB),
        "offchip_bytes": 0, "edgetpu_subgraphs": 1, "ops_total": 84, "ops_edgetpu": 84, "ops_cpu": 0,
        "operations": [], "failure_kind": None,
    },
    "v16_streaming_partial_table.stdout": {
        "compiler_version": "16.0.384591198", "succeeded": True, "compile_time_ms": 3133,
        "input_model": "runs/train/exp8/weights/best-int8.tflite", "input_size_bytes": 6 * MiB,
        "output_size_bytes": round(6.47 * MiB), "onchip_used_bytes": round(5.90 * MiB),
        "onchip_remaining_bytes": round(1.16 * MiB), "offchip_bytes": round(41.75 * KiB),
        "edgetpu_subgraphs": 1, "ops_total": 246, "ops_edgetpu": 246, "ops_cpu": 0,
        "operations": [("ADD", 3, MAPPED), ("RESHAPE", 6, MAPPED), ("MAX_POOL_2D", 4, MAPPED),
                       ("CONCATENATION", 18, MAPPED)],
    },
    "v21_partial_mapping.stdout": {
        "compiler_version": "2.1.302470888", "succeeded": True, "compile_time_ms": 12264,
        "input_size_bytes": round(8.11 * MiB), "output_size_bytes": round(9.47 * MiB),
        "onchip_used_bytes": round(6.86 * MiB), "onchip_remaining_bytes": round(7.75 * KiB),
        "offchip_bytes": round(1.22 * MiB), "edgetpu_subgraphs": 1, "ops_total": 93,
        "ops_edgetpu": 83, "ops_cpu": 10,
        "operations": [("LOGISTIC", 1, SUBGRAPH), ("ADD", 10, MAPPED), ("CONCATENATION", 1, SUBGRAPH),
                       ("CONCATENATION", 3, MAPPED)],
    },
}


def test_every_sample_has_expectations():
    assert sorted(path.name for path in SAMPLES.iterdir() if path.name != "NOTICE") == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_parser_finds_every_field(name):
    text = (SAMPLES / name).read_text()
    report = parse_compiler_output("", text) if name.endswith(".log") else parse_compiler_output(text)
    found = report.as_dict()
    found["operations"] = [(row["op"], row["count"], row["status"]) for row in found["operations"]]
    for field, value in EXPECTED[name].items():
        assert found[field] == value, field
    if not report.succeeded and report.failure_kind:
        assert report.failure_message


def test_older_compilers_wording_of_remaining_memory():
    report = parse_compiler_output(
        "Edge TPU Compiler version 2.0.291256449\nModel compiled successfully in 10 ms.\n"
        "On-chip memory available for caching model parameters: 1.50MiB\nNumber of Edge TPU subgraphs: 1\n"
        "Total number of operations: 4\n")
    assert report.onchip_remaining_bytes == round(1.5 * MiB) and (report.ops_edgetpu, report.ops_cpu) == (4, 0)


def test_op_version_failure_names_the_op():
    report = parse_compiler_output((SAMPLES / "v16_op_version_not_parsed.stdout").read_text())
    assert "QUANTIZE version 3" in report.failure_message
