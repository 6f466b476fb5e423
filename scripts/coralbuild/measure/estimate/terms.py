"""The estimate's terms: each a feature of the model times a coefficient fitted per setup (a fixed
per-inference overhead, the bytes of the Edge TPU segments' inputs and outputs, the parameters
streamed from the host, the Edge TPU's multiply-accumulates, and the ops' time on the CPU, measured
on this host in units of a reference CPU part's time; its coefficient is the reference's time on
the setup's host). No scipy here: the estimate jobs read this, only the calibration fits."""

import numpy as np

MB = 1e6
GMAC = 1e9
# term -> (feature of features.Features, its unit divisor, what dominates when it is the largest)
TERMS = {
    "fixed_ms": (None, 1, "fixed per-inference overhead"),
    "transfer_ms_per_mb": ("transfer_bytes", MB, "input/output transfer"),
    "streamed_ms_per_mb": ("streamed_bytes", MB, "parameters streamed over the link"),
    "ms_per_gmac": ("edgetpu_macs", GMAC, "Edge TPU compute"),
    "cpu_ms_per_reference": ("cpu_relative", 1, "ops on the CPU"),
}


def term_values(features):
    """Each term's feature in its unit: the fit's design row."""
    return np.array([1.0 if name is None else features[name] / unit for name, unit, _ in TERMS.values()])


def estimate_ms(coefficients, features):
    return float(term_values(features) @ np.array([coefficients[term] for term in TERMS]))
