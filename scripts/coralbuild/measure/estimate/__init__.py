"""The Edge TPU latency estimate for a named host setup, without a device (issue 22).

features.py   what is read from a model: bytes over the link, Edge TPU MACs, the CPU part's time
cpu_part.py   the ops left on the CPU, cut out of the model and timed on this host
terms.py      the terms of the estimate, each a feature times a coefficient
calibration.py  the fit (scipy's non-negative least squares on relative errors) and its leave-one-out
estimator.py  the estimate of a model for a setup, from coefficients.json (written by
              benchmarks/calibrate_latency.py, `make calibrate`; no coefficient is typed by hand)
"""
