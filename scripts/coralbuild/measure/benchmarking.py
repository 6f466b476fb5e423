"""Timing of repeated invokes on an allocated interpreter."""

import time

import numpy as np

from coralbuild.measure.latency import summarize

SEED = 0
SEEDED_SAMPLES = 4  # distinct inputs cycled through, so that no cache sees one input only


def seeded_inputs(interpreter, input_range):
    """Inputs for a model measured without a dataset: `SEEDED_SAMPLES` sets of one array per model
    input, of its shape and type, uniform over its type's range (a float input: over
    `input_range`); the same on every run."""
    generator = np.random.default_rng(SEED)
    samples = []
    for _ in range(SEEDED_SAMPLES):
        arrays = []
        for detail in interpreter.get_input_details():
            shape, dtype = tuple(int(n) for n in detail["shape"]), np.dtype(detail["dtype"])
            if dtype.kind == "f":
                arrays.append(generator.uniform(*input_range, size=shape).astype(dtype))
            elif dtype.kind == "b":
                arrays.append(generator.integers(0, 2, size=shape).astype(dtype))
            else:
                info = np.iinfo(dtype)
                arrays.append(generator.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True))
        samples.append(arrays)
    return samples


def time_invokes(interpreter, sample, warmup, iterations):
    """The first invoke on its own (on an Edge TPU it also loads the parameters), then `warmup`
    untimed and `iterations` timed invokes; invoke n runs on `sample(n)`, one array per model
    input in get_input_details() order, made and set before the clock starts."""
    input_indices = [detail["index"] for detail in interpreter.get_input_details()]

    def invoke(step):
        for index, array in zip(input_indices, sample(step)):
            interpreter.set_tensor(index, array)
        begin = time.perf_counter_ns()
        interpreter.invoke()
        return time.perf_counter_ns() - begin

    first_invoke_ns = invoke(0)
    for step in range(1, warmup + 1):
        invoke(step)
    timed = [invoke(warmup + 1 + step) for step in range(iterations)]
    return {"first_invoke_ms": first_invoke_ns / 1e6, **summarize(timed)}
