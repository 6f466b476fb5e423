"""Measurement: running .tflite models, timing invokes, and one measurement per child process."""
