"""Latency of .tflite models on the CPU, one row per artifact and device."""

import time

from coralbuild.inference import load_interpreter, model_inputs
from coralbuild.latency import summarize

def time_cpu_invokes(path, images, threads, warmup, iterations):
    """Time one model on the CPU: load, first invoke, then `warmup` untimed and `iterations`
    timed invokes, each on the next real test image (set before the clock starts)."""
    started = time.perf_counter_ns()
    interpreter = load_interpreter(path, threads)
    load_ns = time.perf_counter_ns() - started
    samples = model_inputs(interpreter, images)
    input_index = interpreter.get_input_details()[0]["index"]

    def invoke(step):
        interpreter.set_tensor(input_index, samples[step % len(samples)])
        begin = time.perf_counter_ns()
        interpreter.invoke()
        return time.perf_counter_ns() - begin

    first_invoke_ns = invoke(0)
    for step in range(1, warmup + 1):
        invoke(step)
    timed = [invoke(warmup + 1 + step) for step in range(iterations)]
    return {"load_ms": load_ns / 1e6, "first_invoke_ms": first_invoke_ns / 1e6, **summarize(timed)}
