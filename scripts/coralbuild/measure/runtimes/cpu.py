"""The CPU target's runtime: the LiteRT interpreter (tflite_runtime in Coral's Python 3.9 stack)."""

from coralbuild.measure.inference import load_interpreter


def open_interpreter(model_path, device, threads):
    """The runtimes' interface (runtimes/__init__.py)."""
    return load_interpreter(model_path, threads), {"device_name": "cpu", "edgetpu_runtime": None,
                                                   "edgetpu_access": None}
