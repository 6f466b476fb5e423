"""The Edge TPU target's runtime: open a compiled model on an Edge TPU, with pycoral when it is
importable, otherwise with the interpreter's `load_delegate` of the Edge TPU runtime library.
Each way of not finding a runtime or a device raises its own exception, so that rows can say
precisely why.

Runs in Coral's Python 3.9 environment too: keep the syntax 3.9-compatible.
"""

import ctypes
import platform

from coralbuild.errors import first_line
from coralbuild.measure.inference import load_delegate, load_interpreter
from coralbuild.measure.runtimes import NoDevice, NoRuntime

RUNTIME_LIBRARY = {"Darwin": "libedgetpu.1.dylib", "Windows": "edgetpu.dll"}.get(platform.system(), "libedgetpu.so.1")
INSTALL_RUNTIME = ("install the Edge TPU runtime (libedgetpu1-std from Coral's apt repository; "
                   "https://coral.ai/docs/accelerator/get-started/) and, optionally, pycoral")


def open_interpreter(model_path, device, threads):
    """The runtimes' interface (runtimes/__init__.py): the interpreter with tensors allocated, and
    the row's facts about the runtime and device."""
    try:
        from pycoral.utils import edgetpu as pycoral_edgetpu
    except ImportError:
        pycoral_edgetpu = None
    if pycoral_edgetpu is not None:
        return _open_with_pycoral(pycoral_edgetpu, model_path, device)
    return _open_with_delegate(model_path, device, threads)


def _open_with_pycoral(pycoral_edgetpu, model_path, device):
    found = pycoral_edgetpu.list_edge_tpus()
    if not found:
        raise NoDevice(f"Edge TPU runtime loaded (pycoral) but no Edge TPU device found (wanted {device})")
    try:
        interpreter = pycoral_edgetpu.make_interpreter(str(model_path), device=device)
    except ValueError as error:
        raise NoDevice(f"no Edge TPU device {device} among {found} ({error})") from None
    interpreter.allocate_tensors()
    facts = {"device_name": f"{device} ({', '.join(entry['type'] + ':' + entry['path'] for entry in found)})",
             "edgetpu_runtime": pycoral_edgetpu.get_runtime_version(), "edgetpu_access": "pycoral"}
    return interpreter, facts


def _open_with_delegate(model_path, device, threads):
    try:
        delegate = load_delegate(RUNTIME_LIBRARY, {"device": device})
    except OSError as error:
        raise NoRuntime(f"no Edge TPU runtime library ({first_line(error)}); {INSTALL_RUNTIME}") from None
    except ValueError:
        raise NoDevice(f"Edge TPU runtime library {RUNTIME_LIBRARY} loaded but no Edge TPU device {device} found") from None
    interpreter = load_interpreter(model_path, threads, delegates=[delegate])
    return interpreter, {"device_name": device, "edgetpu_runtime": runtime_library_version(),
                         "edgetpu_access": f"load_delegate({RUNTIME_LIBRARY})"}


def runtime_library_version():
    """What the runtime's `edgetpu_version()` (edgetpu_c.h) returns, if it can be read."""
    try:
        function = ctypes.CDLL(RUNTIME_LIBRARY).edgetpu_version
    except (OSError, AttributeError):
        return None
    function.restype = ctypes.c_char_p
    return function().decode("utf-8", "replace")
