"""Timing of repeated invokes on an allocated interpreter."""

import time

from coralbuild.measure.latency import summarize


def time_invokes(interpreter, sample, warmup, iterations):
    """The first invoke on its own (on an Edge TPU it also loads the parameters), then `warmup`
    untimed and `iterations` timed invokes; invoke n runs on `sample(n)`, made and set before the
    clock starts."""
    input_index = interpreter.get_input_details()[0]["index"]

    def invoke(step):
        interpreter.set_tensor(input_index, sample(step))
        begin = time.perf_counter_ns()
        interpreter.invoke()
        return time.perf_counter_ns() - begin

    first_invoke_ns = invoke(0)
    for step in range(1, warmup + 1):
        invoke(step)
    timed = [invoke(warmup + 1 + step) for step in range(iterations)]
    return {"first_invoke_ms": first_invoke_ns / 1e6, **summarize(timed)}
