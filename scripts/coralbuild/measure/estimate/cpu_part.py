"""Time the ops a model leaves on the CPU, on this host, by running them alone: a copy of the model
whose graph keeps only those ops, fed seeded inputs where the Edge TPU part would hand them over.

Why a copy rather than profiling the whole model: the Edge TPU part cannot run here (no device), and
the LiteRT Python interpreter has no per-op profiler; cutting the graph is exact about which ops run.
A custom op this interpreter has no kernel for (PoseNet's decoder) is left out and named.

Hosts differ, and a shared host's speed drifts over minutes (a DeepLab CPU part: medians of 10 to
23 ms on the 2-core CI machine). So each load of the part is timed beside a load of a reference CPU
part, reference_cpu_part.tflite (the CPU ops of Coral's DeepLab v3 MobileNetV2 0.5 compiled model:
resize, concatenation, two convolutions, argmax; Apache-2.0, google-coral/test_data), and the
estimate reads the ratio of the two, which moved by 4% where the times moved by 50%.
"""

import re
import tempfile
from pathlib import Path

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as schema

from coralbuild.errors import BadInput, first_line
from coralbuild.measure.benchmarking import seeded_inputs, time_invokes
from coralbuild.measure.inference import Interpreter

WARMUP = 3
ITERATIONS = 20
LOADS = 5  # loads of the part, each timed beside a load of the reference; the median ratio counts
REFERENCE = Path(__file__).with_name("reference_cpu_part.tflite")
TIMING_THREADS = 1  # the published latencies were measured with the runtime's default of one thread
FLOAT_RANGE = (0.0, 1.0)  # fed to a float input of the CPU part (a DEQUANTIZE output, a float edge)
UNRESOLVED = re.compile(r"unresolved custom op: ([^.\s]+)")


def cpu_part(model_bytes, keep):
    """The .tflite bytes of a model whose main graph runs only the operators at indices `keep`:
    its inputs are the tensors those ops read that no kept op writes (and that hold no data), its
    outputs the kept ops' tensors that no kept op reads, or that the graph outputs."""
    model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    graph = model.subgraphs[0]
    kept = [graph.operators[index] for index in sorted(keep)]
    written = {int(t) for op in kept for t in op.outputs if t >= 0}
    read = {int(t) for op in kept for t in op.inputs if t >= 0}
    has_data = {index for index, tensor in enumerate(graph.tensors)
                if model.buffers[tensor.buffer].data is not None and len(model.buffers[tensor.buffer].data)}
    graph_outputs = {int(t) for t in graph.outputs}
    graph.operators = kept
    graph.inputs = sorted(read - written - has_data)
    graph.outputs = sorted(t for t in written if t not in read or t in graph_outputs)
    builder = flatbuffers.Builder(len(model_bytes) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _median_ms(path):
    interpreter = Interpreter(model_path=str(path), num_threads=TIMING_THREADS)
    interpreter.allocate_tensors()
    samples = seeded_inputs(interpreter, FLOAT_RANGE)
    return time_invokes(interpreter, lambda step: samples[step % len(samples)], WARMUP, ITERATIONS)["median_ms"]


def _timed_beside_reference(part):
    """(median ms of the part, median of its ratios to the reference's ms), over LOADS loads."""
    times, ratios = [], []
    for _ in range(LOADS):
        reference = _median_ms(REFERENCE)
        times.append(_median_ms(part))
        ratios.append(times[-1] / reference)
    return float(np.median(times)), float(np.median(ratios))


def time_cpu_part(path, keep, names):
    """(ms of one invoke of the ops at indices `keep` of the model at `path` on this host, that time
    in units of the reference part's, the custom ops left out because this interpreter cannot run
    them); `names[i]` is op i's name or custom code."""
    data, keep, untimed = Path(path).read_bytes(), sorted(keep), []
    with tempfile.TemporaryDirectory(prefix="cpu-part-") as folder:
        part = Path(folder) / "cpu_part.tflite"
        while keep:
            part.write_bytes(cpu_part(data, keep))
            try:
                Interpreter(model_path=str(part), num_threads=TIMING_THREADS).allocate_tensors()
            except (ValueError, RuntimeError) as error:
                missing = UNRESOLVED.search(str(error))
                if not missing or missing.group(1) not in {names[i] for i in keep}:
                    raise BadInput(f"{path}: its CPU ops cannot run in the LiteRT interpreter ({first_line(error)})") from None
                untimed.append(missing.group(1))
                keep = [i for i in keep if names[i] != missing.group(1)]
                continue
            return (*_timed_beside_reference(part), sorted(untimed))
    return 0.0, 0.0, sorted(untimed)
