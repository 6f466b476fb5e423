"""The estimate of one model's Edge TPU latency for a named setup, from coefficients.json."""

from dataclasses import asdict, dataclass

from coralbuild.measure.estimate.setups import calibrated, check_setups
from coralbuild.measure.estimate.terms import TERMS, estimate_ms, term_values


@dataclass
class Estimate:
    setup: str
    basis: str
    median_ms: float
    low_ms: float
    high_ms: float
    bound: str  # what dominates: the largest term
    terms_ms: dict  # term -> its ms
    cpu_untimed: list  # custom ops on the CPU this host cannot run: their time is not in the estimate

    def as_dict(self):
        return asdict(self)


def estimate(features, setup):
    """The Estimate of `features` (features.Features) for a calibrated `setup`."""
    check_setups([setup], "setup")
    calibration = calibrated()[setup]
    coefficients = calibration["coefficients"]
    values = features.as_dict()
    median = estimate_ms(coefficients, values)
    terms = {term: round(float(value) * coefficients[term], 4)
             for term, value in zip(TERMS, term_values(values), strict=True)}
    low, high = calibration["band"][features.basis]
    largest = max(terms, key=terms.get)
    return Estimate(setup, features.basis, round(median, 4), round(median * low, 4), round(median * high, 4),
                    TERMS[largest][2], terms, list(features.cpu_untimed))
