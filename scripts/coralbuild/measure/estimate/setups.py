"""The calibrated host setups of the latency estimate, read from coefficients.json (which
benchmarks/calibrate_latency.py writes). Standard library only: the config check reads it."""

import json
from pathlib import Path

from coralbuild.errors import BadInput

COEFFICIENTS = Path(__file__).with_name("coefficients.json")


def calibrated():
    """setup name -> its calibration (coefficients, bands, provenance, leave-one-out errors)."""
    return json.loads(COEFFICIENTS.read_text())["setups"]


def check_setups(setups, key):
    """BadInput naming `key` and the first setup that was not calibrated."""
    known = calibrated()
    for setup in setups:
        if setup not in known:
            raise BadInput(f"{key}: unknown setup {setup!r} (calibrated setups: {', '.join(known)})")
