"""Fit the estimate's coefficients for one setup, and judge the fit by leaving each model out.

The estimate is a sum of non-negative terms, each a feature times its coefficient (terms.py).
The fit minimises relative, not absolute, errors
(a 1 ms model counts as much as a 300 ms one) with scipy.optimize.nnls: no coefficient may be
negative, so each term keeps its physical meaning.
"""

import numpy as np
from scipy.optimize import nnls

from coralbuild.measure.estimate.terms import TERMS, estimate_ms, term_values

# Of the leave-one-out relative errors, as the empirical distribution has them ("inverted_cdf"):
# with fewer than 20 models that is their smallest and largest error.
BAND_QUANTILES = (0.05, 0.95)


def fit(rows, latencies_ms):
    """Coefficients (term -> value) that best explain `latencies_ms` from feature dicts `rows`."""
    design = np.array([term_values(row) for row in rows])
    target = np.asarray(latencies_ms, dtype=float)
    coefficients, _ = nnls(design / target[:, None], np.ones(len(target)))
    return dict(zip(TERMS, (float(c) for c in coefficients), strict=True))


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
