"""Latency statistics of repeated invokes."""

import numpy as np

NS_PER_MS = 1e6


def summarize(durations_ns):
    """Median, mean, p90, p99, min, max, standard deviation (ms) and throughput (per second)."""
    ms = np.asarray(durations_ns, dtype=np.float64) / NS_PER_MS
    if ms.size == 0:
        raise ValueError("no timed iterations to summarize")
    mean = float(ms.mean())
    return {
        "median_ms": float(np.median(ms)),
        "mean_ms": mean,
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "min_ms": float(ms.min()),
        "max_ms": float(ms.max()),
        "std_ms": float(ms.std()),
        "throughput_per_s": 1000.0 / mean if mean > 0 else float("inf"),
    }
