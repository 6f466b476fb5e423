"""docs/results.md documents every column of results/benchmark.csv and results/summary.csv, and no
other; the links between the README, the CHANGELOG and the pages under docs/ lead to files and
headings that exist."""

import re

import pandas as pd
import pytest

from conftest import PROJECT

RESULTS_DOC = PROJECT / "docs/results.md"
BENCHMARK_HEADING = "### Columns of `results/benchmark.csv`"
SUMMARY_HEADING = "### Columns of `results/summary.csv`"


def documented_columns(heading):
    """The column names in the first column of the first table under `heading`: every name in
    backticks in that cell (a row may document several, `median_ms`, `mean_ms`, ...)."""
    text = RESULTS_DOC.read_text()
    assert heading in text, f"docs/results.md has no heading {heading!r}"
    section = re.split(r"^#{1,3} ", text.split(heading, 1)[1], maxsplit=1, flags=re.MULTILINE)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert len(rows) > 2, f"no table under {heading!r}"
    names = []
    for row in rows[2:]:  # after the header and the |---| line
        first_cell = row.split("|")[1]
        found = re.findall(r"`([^`]+)`", first_cell)
        assert found, f"a row under {heading!r} without a column name in backticks: {row}"
        names += found
    assert len(names) == len(set(names)), f"a column documented twice under {heading!r}"
    return set(names)


def test_every_benchmark_column_is_documented():
    from coralbuild.reporting.table import COLUMNS

    assert documented_columns(BENCHMARK_HEADING) == set(COLUMNS)


# The summary's columns are not declared in one place: summarize() names them from the artifacts
# and devices the benchmark table has. So the test makes a summary of a small table and expands
# the documented <artifact> and <device> placeholders with what that table has.
ROWS = [  # (artifact, device, status)
    ("float32", "cpu", "measured"),
    ("int8", "cpu", "measured"),
    ("edgetpu", "usb", "skipped: no Edge TPU runtime library"),
    ("edgetpu", "pci:0", "failed: runtime crashed (signal 11, SIGSEGV)"),
    ("edgetpu", "usb:1", "measured"),
    ("edgetpu", "estimate:usb3_desktop", "estimated"),
]


def small_summary(tmp_path):
    """The summary the project's own functions make of a two-model benchmark table, written and
    read back as results/benchmark.csv is."""
    from coralbuild.reporting.summary import summarize
    from coralbuild.reporting.table import COLUMNS, write_table

    rows = []
    for model, compiled in (("cnn", True), ("mlp", False)):
        for artifact, device, status in ROWS:
            measured = status == "measured"
            estimate = {"median_ms": 1.5, "estimate_low_ms": 1.2, "estimate_high_ms": 2.0} if status == "estimated" else {}
            rows.append({**estimate, "dataset": "mnist", "model": model, "artifact": artifact, "device": device,
                         "status": status, "size_bytes": 62296, "accuracy": 0.98 if measured else None,
                         "balanced_accuracy": 0.98 if measured else None, "median_ms": 0.02 if measured else None,
                         # One detector's mAP: the run's summary then has the mAP columns.
                         "map50": 0.5 if measured and not compiled else None,
                         "map50_95": 0.3 if measured and not compiled else None,
                         "compile_status": "compiled" if compiled else "skipped: no edgetpu_compiler on PATH",
                         "ops_total": 9 if compiled else None, "ops_edgetpu": 9 if compiled else None, **estimate})
    path = tmp_path / "benchmark.csv"
    write_table(pd.DataFrame(rows).reindex(columns=COLUMNS), path)
    metrics = {("mnist", model): {"artifacts": {"keras": {"accuracy": 0.98, "balanced_accuracy": 0.98}},
                                  "dataset_warnings": ["class 3 has 9 test images"]} for model in ("cnn", "mlp")}
    return summarize(pd.read_csv(path), metrics)


def expand(name):
    """A documented summary column with its placeholders filled in from ROWS."""
    if "<setup>" in name:
        return {name.replace("estimate:<setup>", device) for _, device, status in ROWS if status == "estimated"}
    if "<device>" in name:
        return {name.replace("<artifact>", artifact).replace("<device>", device) for artifact, device, status in ROWS
                if status != "estimated"}
    if "<artifact>" in name:
        return {name.replace("<artifact>", artifact) for artifact, _, _ in ROWS}
    return {name}


def test_every_summary_column_is_documented(tmp_path):
    from coralbuild.reporting.summary import ARTIFACT_ORDER

    documented = set().union(*map(expand, documented_columns(SUMMARY_HEADING)))
    assert documented == set(small_summary(tmp_path).columns)
    # The artifacts the page names for <artifact> are the summary's own.
    assert {artifact for artifact, _, _ in ROWS} == set(ARTIFACT_ORDER) - {"keras"}


# Links between the docs.
DOCS = [PROJECT / "README.md", PROJECT / "CHANGELOG.md", *sorted((PROJECT / "docs").glob("*.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def without_code(text):
    """The text outside fenced code blocks and inline code."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    return re.sub(r"`[^`\n]*`", "", text)


def anchors(path):
    """GitHub's anchors of a Markdown file's headings: lower case, punctuation dropped, spaces as
    hyphens, a repeated heading numbered."""
    seen, found = {}, set()
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.MULTILINE | re.DOTALL)
    for heading in re.findall(r"^#{1,6} +(.+?) *$", text, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


@pytest.mark.parametrize("document", DOCS, ids=lambda path: str(path.relative_to(PROJECT)))
def test_relative_links_lead_somewhere(document):
    broken = []
    for target in LINK.findall(without_code(document.read_text())):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        linked = (document.parent / file).resolve() if file else document
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no such heading")
    assert not broken, f"{document.relative_to(PROJECT)}: {broken}"


@pytest.mark.parametrize("page", sorted((PROJECT / "docs").glob("*.md")), ids=lambda path: path.name)
def test_each_page_says_what_it_covers_and_links_back(page):
    title, first_paragraph = page.read_text().split("\n\n")[:2]
    assert title.startswith("# ")
    assert "](../README.md)" in first_paragraph, f"{page.name}: its first paragraph does not link to the README"
    assert page.name in (PROJECT / "README.md").read_text(), f"the README does not link to {page.name}"
