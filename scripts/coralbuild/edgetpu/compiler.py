"""Find Coral's `edgetpu_compiler` (on PATH, or inside a container image) and build its commands.

Standard library only: the Snakefile uses `find_compiler` while it builds the DAG.
"""

import json
import os
import shutil
import uuid
from dataclasses import dataclass

COMPILER = "edgetpu_compiler"
CONTAINER_RUNTIMES = ("docker", "podman")
HOW_TO_GET_ONE = (
    "install edgetpu_compiler from Coral's apt repository (x86-64 Linux: "
    "https://coral.ai/docs/edgetpu/compiler/), or set compile.container_image to an image that "
    "holds it (run with docker or podman; see envs/edgetpu_compiler.Dockerfile), or compile "
    "model_int8.tflite in Coral's Colab notebook"
)


@dataclass(frozen=True)
class Compiler:
    executable: str  # edgetpu_compiler's path, or the container runtime's
    image: str | None = None  # set when the compiler runs in a container

    def describe(self):
        if self.image:
            return f"{COMPILER} in container image {self.image} ({os.path.basename(self.executable)})"
        return f"{COMPILER} at {self.executable}"

    def command(self, arguments, folder, container_name=None):
        """argv running the compiler with `arguments`; `folder` (absolute) holds every file it
        reads or writes, and is mounted at the same path in a container named `container_name`."""
        if not self.image:
            return [self.executable, *arguments]
        return [self.executable, "run", "--rm", "--name", container_name, "--user", f"{os.getuid()}:{os.getgid()}",
                "--volume", f"{folder}:{folder}", "--workdir", folder, self.image, COMPILER, *arguments]

    def container_name(self):
        """A new container's name, or None for a compiler on PATH."""
        return f"coralbuild-edgetpu-compiler-{uuid.uuid4().hex[:12]}" if self.image else None

    def remove_container_command(self, container_name):
        """argv stopping and removing a container: killing the docker or podman client does not
        stop the container it started."""
        return [self.executable, "rm", "--force", container_name]


# Where the host that builds the DAG passes its compiler decision to the jobs: Snakemake parses
# the Snakefile again in every cluster job, on nodes that may have no compiler.
DECISION_VARIABLE = "CORALBUILD_EDGETPU_COMPILER"


def decision_to_text(compiler, missing):
    return json.dumps({"executable": compiler.executable, "image": compiler.image} if compiler else {"missing": missing})


def decision_from_text(text):
    """(Compiler, None) or (None, why there is none), as decision_to_text wrote it."""
    decision = json.loads(text)
    if "missing" in decision:
        return None, decision["missing"]
    return Compiler(decision["executable"], decision["image"]), None


def find_compiler(settings):
    """(Compiler, None) or (None, why there is none) for the `compile` config section."""
    if settings["compiler"] == "off":
        return None, "compile.compiler is off"
    native = shutil.which(COMPILER)
    if native:
        return Compiler(native), None
    image = settings.get("container_image")
    if not image:
        return None, f"no {COMPILER} on PATH and no compile.container_image configured"
    runtime = next((path for path in map(shutil.which, CONTAINER_RUNTIMES) if path), None)
    if runtime is None:
        return None, f"no {COMPILER} on PATH and neither docker nor podman to run compile.container_image {image}"
    return Compiler(runtime, image), None


def compile_arguments(settings, model, out_dir):
    """The compiler's command line for one model. `-s` puts the op table on stdout too."""
    arguments = ["-s", "-o", out_dir, "-m", str(settings["min_runtime_version"]),
                 "--timeout_sec", str(settings["timeout_s"])]
    if settings["search_delegate"]:
        arguments.append("-d")
        if settings.get("delegate_search_step"):
            arguments += ["-k", str(settings["delegate_search_step"])]
    return [*arguments, *settings.get("extra_args", []), model]
