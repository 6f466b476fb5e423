"""The float pixel range a model takes: stored uint8 pixels 0..255 map linearly onto it
(models/preprocessing.py does the mapping). Standard library only: planning code reads it."""

# Pixels / 255: the small built-in networks, and what a brought model that declares no range takes.
UNIT_RANGE = (0.0, 1.0)
