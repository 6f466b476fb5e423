"""Hostile model files: mutations of real models fed to the model readers (inspection and
placement prediction). Each either answers or raises the project's own BadInput; nothing else
escapes, and nothing hangs. A bounded run here; benchmarks/fuzz_model_readers.py runs longer."""

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import PROJECT
from coralbuild.edgetpu.inspection import inspect_compiled
from coralbuild.edgetpu.placement import predict
from coralbuild.edgetpu.tflite_model import read_tflite
from coralbuild.errors import BadInput

SEEDS = sorted((PROJECT / "tests/data/reference-models").glob("*.tflite")) + sorted((PROJECT / "tests/data/fixtures").glob("*.tflite"))
SEEDS = [PROJECT / "tests/data/cnn_int8.tflite"] + [path for path in SEEDS if path.stat().st_size < 200_000]


def mutations():
    flip = st.tuples(st.just("flip"), st.floats(0, 1), st.integers(1, 255))
    cut = st.tuples(st.just("cut"), st.floats(0, 1), st.just(0))
    insert = st.tuples(st.just("insert"), st.floats(0, 1), st.integers(0, 255))
    return st.lists(st.one_of(flip, cut, insert), min_size=1, max_size=8)


def mutate(data, changes):
    data = bytearray(data)
    for kind, where, value in changes:
        position = int(where * max(len(data) - 1, 0))
        if kind == "flip" and data:
            data[position] ^= value
        elif kind == "cut":
            del data[position:]
        elif kind == "insert":
            data[position:position] = bytes([value])
    return bytes(data)


def read_every_way(path):
    """What the project does with a model file from anywhere."""
    inspect_compiled(path)
    predict(read_tflite(path))


# benchmarks/fuzz_model_readers.py sets FUZZ_EXAMPLES for a longer run.
@settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", 150)), deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.sampled_from(SEEDS), changes=mutations())
def test_mutated_models_get_an_answer_or_a_clear_error(tmp_path, seed, changes):
    path = tmp_path / "fuzzed_edgetpu.tflite"
    path.write_bytes(mutate(seed.read_bytes(), changes))
    try:
        read_every_way(path)
    except BadInput as error:
        assert str(error).startswith(str(path)), error
