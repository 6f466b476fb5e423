"""Fit the estimate's coefficients for one setup, and judge the fit by leaving each model out.

The estimate is a sum of non-negative terms, each a feature times its coefficient (TERMS): a fixed
per-inference overhead, the bytes of the Edge TPU segments' inputs and outputs, the parameters
streamed from the host, the Edge TPU's multiply-accumulates, and the ops' time on the CPU (measured
on this host in units of a reference CPU part's time; its coefficient is the reference's time on
the setup's host). The fit minimises relative, not absolute, errors
(a 1 ms model counts as much as a 300 ms one) with scipy.optimize.nnls: no coefficient may be
negative, so each term keeps its physical meaning.
"""

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
# Of the leave-one-out relative errors, as the empirical distribution has them ("inverted_cdf"):
# with fewer than 20 models that is their smallest and largest error.
BAND_QUANTILES = (0.05, 0.95)


def term_values(features):
    """Each term's feature in its unit: the fit's design row."""
    return np.array([1.0 if name is None else features[name] / unit for name, unit, _ in TERMS.values()])


def fit(rows, latencies_ms):
    """Coefficients (term -> value) that best explain `latencies_ms` from feature dicts `rows`."""
    from scipy.optimize import nnls  # only the calibration fits: the estimate jobs need no scipy

    design = np.array([term_values(row) for row in rows])
    target = np.asarray(latencies_ms, dtype=float)
    coefficients, _ = nnls(design / target[:, None], np.ones(len(target)))
    return dict(zip(TERMS, (float(c) for c in coefficients), strict=True))


def estimate_ms(coefficients, features):
    return float(term_values(features) @ np.array([coefficients[term] for term in TERMS]))


def leave_one_out(models):
    """For each calibration model (name, latency, features to fit on, {basis: features}), the
    estimate of each of its bases by a fit on all the other models."""
    results = []
    for left_out, (name, latency, _, bases) in enumerate(models):
        others = [model for index, model in enumerate(models) if index != left_out]
        coefficients = fit([model[2] for model in others], [model[1] for model in others])
        for basis, features in bases.items():
            estimate = estimate_ms(coefficients, features)
            results.append({"model": name, "basis": basis, "published_ms": latency, "estimate_ms": estimate,
                            "error": (estimate - latency) / latency})
    return results


def band(errors):
    """(low, high) factors on an estimate that hold the published figure where the leave-one-out
    errors did: a relative error e means published = estimate / (1 + e)."""
    low_error, high_error = np.quantile(np.asarray(errors, dtype=float), BAND_QUANTILES, method="inverted_cdf")
    return float(1 / (1 + high_error)), float(1 / (1 + low_error))
