"""Two runs side by side: every figure of every benchmark row with its change, why it changed
(from the runs' manifests), and a gate of thresholds for CI.

    runs.py        reading a run: its benchmark.csv (checked) and manifest.json
    figures.py     one row's figures in both runs, each with its change; the latency noise
    provenance.py  why a row changed, from the manifests; the tool versions that differ
    rows.py        the comparison's rows: one per dataset x model x artifact x device
    gate.py        the thresholds (options or a YAML file) and the rows that break them
    render.py      the comparison as text, Markdown, JSON or a flat table
"""
