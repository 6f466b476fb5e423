"""The calibrated host setups of the latency estimate, read from coefficients.json (which
benchmarks/calibrate_latency.py writes). Standard library only: the config check reads it."""

import json
from pathlib import Path

from coralbuild.errors import BadInput

COEFFICIENTS = Path(__file__).with_name("coefficients.json")


def _setups():
    return json.loads(COEFFICIENTS.read_text())["setups"]


def calibrated():
    """setup name -> its calibration (coefficients, bands, provenance, leave-one-out errors), of
    the setups whose calibration was good enough to offer."""
    return {name: setup for name, setup in _setups().items() if not setup["refused"]}


def check_setups(setups, key):
    """BadInput naming `key` and the first setup that is not offered, and why."""
    known, every = calibrated(), _setups()
    for setup in setups:
        if setup in every and setup not in known:
            raise BadInput(f"{key}: setup {setup!r} is not offered: its calibration is too weak "
                           f"({every[setup]['refused']}; calibrated setups: {', '.join(known)})")
        if setup not in known:
            raise BadInput(f"{key}: unknown setup {setup!r} (calibrated setups: {', '.join(known)})")
