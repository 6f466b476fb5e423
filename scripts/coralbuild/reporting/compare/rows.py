"""The comparison's rows: one per dataset x model x artifact x device present in either run,
with its figures, where its Edge TPU mapping comes from, and why it changed."""

from coralbuild.reporting.compare.figures import mapping_source, row_figures
from coralbuild.reporting.compare.provenance import Provenance
from coralbuild.reporting.compare.runs import KEY


def compare_runs(base, new):
    """One row per dataset x model x artifact x device present in either run."""
    keyed = {run.label: {tuple(row[key] for key in KEY): row for _, row in run.table.iterrows()} for run in (base, new)}
    keys = sorted(set(keyed[base.label]) | set(keyed[new.label]), key=lambda key: tuple(map(str, key)))
    why = Provenance(base, new)
    rows = []
    for key in keys:
        old, current = keyed[base.label].get(key), keyed[new.label].get(key)
        presence = "both" if old is not None and current is not None else f"only in {base.label if current is None else new.label}"
        sources = [mapping_source(row) for row in (old, current) if row is not None]
        mapping = " -> ".join(dict.fromkeys(source or "-" for source in sources))  # one name when the same
        rows.append({**dict(zip(KEY, key, strict=True)), "presence": presence, "figures": row_figures(old, current), "mapping": mapping,
                     "why": why.of_row(*key) if presence == "both" else None})
    return rows


def row_name(row):
    return f"{row['dataset']}/{row['model']} {row['artifact']} {row['device']}"
