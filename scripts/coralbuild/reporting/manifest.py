"""The provenance manifest of a results tree: every artifact's path, size, sha256, the rule that
made it, a hash of the config it depends on, and the tool versions; and its verification."""

import hashlib
import json
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from coralbuild.measure.targets import all_targets

# Files holding measured times: they differ from run to run by nature, so they are left out
# when two runs are compared (never when a tree is verified against its own manifest).
MEASUREMENT_FILES = {"benchmark.csv", "summary.csv", "latency.png", "compiler.stdout", "compile.json",
                     *(target.OUTPUTS["table"] for target in all_targets())}  # each device target's rows
PACKAGES = {"tensorflow": ("tensorflow-cpu", "tensorflow"), "keras": ("keras",),
            "ai-edge-litert": ("ai-edge-litert",), "snakemake": ("snakemake",)}


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def artifact_files(path):
    """A file, or every file below a folder output (Snakemake's own markers aside)."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".snakemake"))
    return [path]


def installed_versions():
    """Python's and PACKAGES' versions in this process's environment."""
    versions = {"python": platform.python_version()}
    for name, distributions in PACKAGES.items():
        versions[name] = next((_version(d) for d in distributions if _version(d)), "not installed")
    return versions


def tool_versions(compiler_versions, recorded=()):
    """Each tool's version as the jobs that made the artifacts recorded it (`recorded`: their
    installed_versions(); distinct values joined), else this job's own: with `--sdm conda` the
    manifest job's environment has no TensorFlow, Keras or LiteRT."""
    versions = {}
    for name, own in installed_versions().items():
        seen = sorted({entry[name] for entry in recorded if entry.get(name) not in (None, "not installed")})
        versions[name] = ", ".join(seen) or own
    versions["edgetpu_compiler"] = ", ".join(sorted(compiler_versions)) or "not used"
    return versions


def _version(distribution):
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def build_manifest(entries, brought=None):
    """`entries`: [{"path", "rule", "config_hash", "config_sections", "code"}] of outputs (files or
    folders; see coralbuild.stages.manifest_entries); `brought`: model name -> the file or folder
    a brought model comes from (recorded with its sha256)."""
    artifacts, compilers, recorded = [], set(), []
    for entry in entries:
        for path in artifact_files(entry["path"]):
            artifacts.append({"path": str(path), "size": path.stat().st_size, "sha256": sha256(path),
                              "rule": entry["rule"], "config_hash": entry["config_hash"],
                              "config_sections": entry["config_sections"], "code": entry["code"],
                              "measurement": path.name in MEASUREMENT_FILES})
            if path.name == "compile.json":
                # null when `edgetpu_compiler --version` gave nothing: a compiler ran, its version is unknown
                compilers.add(json.loads(path.read_text()).get("version") or "unknown version")
            if path.name == "metrics.json":  # written by the evaluate job, in the TensorFlow environment
                recorded.append(json.loads(path.read_text()).get("versions", {}))
    brought_models = [{"model": model, "path": str(path), "sha256": sha256(path)}
                      for model, source in sorted((brought or {}).items()) for path in artifact_files(source)]
    return {"versions": tool_versions(compilers, recorded), "artifacts": artifacts, "brought_models": brought_models}


def verify(manifest, root="."):
    """Problems of the tree at `root` against its manifest: files changed or missing."""
    problems = []
    for artifact in manifest["artifacts"]:
        path = Path(root) / artifact["path"]
        if not path.is_file():
            problems.append(f"missing: {artifact['path']}")
        elif path.stat().st_size != artifact["size"] or sha256(path) != artifact["sha256"]:
            problems.append(f"changed: {artifact['path']} (made by rule {artifact['rule']})")
    return problems


def compare(manifest, other):
    """Artifacts (measurements aside) whose bytes differ between two runs' manifests, each with
    what differs on its way (changed_upstream)."""
    ours = by_path(manifest)
    theirs = by_path(other)
    differences = []
    for artifact in manifest["artifacts"]:
        if artifact["measurement"]:
            continue
        match = theirs.get(artifact["path"])
        if match is None:
            differences.append(f"only in the first run: {artifact['path']}")
        elif match["sha256"] != artifact["sha256"]:
            reasons = changed_upstream(artifact["path"], ours, theirs)
            differences.append(f"different bytes: {artifact['path']}" + (f" ({', '.join(reasons)})" if reasons else ""))
    return differences


def by_path(manifest):
    return {artifact["path"]: artifact for artifact in manifest["artifacts"]}


def changed_upstream(path, base, new):
    """What differs on the way to `path` between two manifests (`by_path` of each): the config
    sections and the scripts' code digests that differ. None where a manifest does not list the
    file or does not record its way (a manifest of an older version)."""
    old, current = base.get(path), new.get(path)
    if old is None or current is None or "config_sections" not in old or "config_sections" not in current:
        return None
    sections = old["config_sections"], current["config_sections"]
    reasons = [f"config {name}" for name in sorted(set(sections[0]) | set(sections[1]))
               if sections[0].get(name) != sections[1].get(name)]
    for digest in sorted(set(old["code"]) | set(current["code"])):
        before, after = base.get(digest), new.get(digest)
        if before is None or after is None or before["sha256"] != after["sha256"]:
            reasons.append(f"code {Path(digest).stem}.py")
    return reasons
