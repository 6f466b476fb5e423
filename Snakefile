# Coral Edge TPU build workflow: dataset -> checkpoint -> SavedModel -> .tflite -> benchmark.
# Outputs live under results/<dataset>/<model>/; docs/results.md describes each of them.

import os

from snakemake.utils import min_version

min_version("9.0")


# The default run: the working directory's config/config.yaml, else the workflow's own (a run with
# -d elsewhere). Files given with --configfile replace it: they alone are the config, and sections
# they leave out take the schema's defaults (rules/common.smk). To build on the default run, name
# it first: --configfile config/config.yaml config/tiny.yaml.
if not workflow.overwrite_configfiles:

    configfile:
        "config/config.yaml"
        if os.path.exists("config/config.yaml")
        else os.path.relpath(os.path.join(workflow.basedir, "config/config.yaml"))


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/code.smk"
include: "rules/dataset.smk"
include: "rules/model.smk"
include: "rules/compile.smk"
include: "rules/benchmark.smk"
include: "rules/report.smk"


# On a cluster these quick table and plot jobs run on the submit host instead of queueing.
localrules:
    all,
    code_digest,
    benchmark_table,
    summary_table,
    plot_results,
    manifest,
    compare_baseline,


rule all:
    default_target: True
    input:
        BENCHMARK_TABLE,
        SUMMARY_TABLE,
        rules.plot_results.output,
        MANIFEST,
        rules.compare_baseline.output if BASELINE else [],


onsuccess:
    # Surface the warnings of the evaluations (int8 far below float32) and of the final table
    # (prediction against compiler) at the end of the run.
    show_warnings(all_models(model_log("evaluate")) + [run_log("benchmark_table")])
