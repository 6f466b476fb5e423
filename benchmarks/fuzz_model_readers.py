"""A longer fuzz run of the model readers than the test suite's bounded one.

    python benchmarks/fuzz_model_readers.py [--examples 5000]

Runs tests/test_fuzz_model_readers.py with more examples; a failure prints the smallest
mutation that breaks the contract (an answer or BadInput, nothing else, no hang).
"""

import argparse
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=5000)
    args = parser.parse_args()
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_fuzz_model_readers.py"]
    sys.exit(subprocess.run(command, cwd=PROJECT, env={**os.environ, "FUZZ_EXAMPLES": str(args.examples)}).returncode)


if __name__ == "__main__":
    main()
