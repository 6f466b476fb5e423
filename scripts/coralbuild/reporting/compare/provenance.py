"""Why a row changed, from the two runs' manifests, and the tool versions that differ."""

from coralbuild.layout import ARTIFACT_FILES, model_path
from coralbuild.measure.targets import target_of
from coralbuild.reporting.manifest import by_path, changed_upstream
from coralbuild.stages import STAGES


class Provenance:
    """Why a row changed, from the two runs' manifests: what differs on the way to its benchmark
    file (config sections, code digests), and which artifacts' bytes differ."""

    def __init__(self, base, new):
        self.available = base.manifest is not None and new.manifest is not None
        if self.available:
            self.base, self.new = by_path(base.manifest), by_path(new.manifest)

    def of_row(self, dataset, model, artifact, device):
        """What differs on the way to the row's model file, and in the settings and code of the
        stages that measured it (evaluate, the benchmark) themselves."""
        if not self.available:
            return None
        model_file = model_path(ARTIFACT_FILES[artifact], dataset, model)
        if model_file not in self.new:  # nothing compiled: the row is about the int8 model
            model_file = model_path(ARTIFACT_FILES["int8"], dataset, model)
        benchmark = target_of(device).RULE
        upstream, measuring = (changed_upstream(path, self.base, self.new)
                               for path in (model_file, model_path(f"{benchmark}.csv", dataset, model)))
        if upstream is None or measuring is None:
            return None
        own = {f"config {part}" for rule in ("evaluate", benchmark) for part in STAGES[rule].config}
        own |= {f"code {STAGES[rule].script}" for rule in ("evaluate", benchmark)}
        return upstream + [reason for reason in measuring if reason in own and reason not in upstream]

    def changed_artifacts(self):
        """Artifacts (measurements and code digests aside) whose bytes differ, with the reasons."""
        if not self.available:
            return []
        return [{"path": path, "why": changed_upstream(path, self.base, self.new)} for path, old in self.base.items()
                if path in self.new and not old["measurement"] and old["rule"] != "code_digest"
                and old["sha256"] != self.new[path]["sha256"]]


def version_changes(base, new):
    """Tool versions that differ between the runs' manifests: name -> (BASE, NEW)."""
    if base.manifest is None or new.manifest is None:
        return {}
    old, current = base.manifest.get("versions", {}), new.manifest.get("versions", {})
    return {name: (old.get(name), current.get(name)) for name in sorted(set(old) | set(current))
            if old.get(name) != current.get(name)}
