rule summary_table:
    output:
        report("results/summary.csv", caption="../report/summary.rst", category="Tables"),
    input:
        unpack(code("summary_table")),
        table="results/benchmark.csv",
        metrics=all_models("results/{dataset}/{model}/metrics.json"),
    log:
        "results/logs/summary_table.log",
    benchmark:
        "results/benchmarks/summary_table.tsv"
    conda:
        "../envs/data.yaml"
    shell:
        "python {input.script:q} --table {input.table:q} --metrics {input.metrics:q}"
        " --output {output:q} > {log:q} 2>&1"


rule plot_results:
    output:
        latency=report("results/plots/latency.png", caption="../report/latency.rst", category="Plots"),
        accuracy_vs_size=report(
            "results/plots/accuracy_vs_size.png", caption="../report/accuracy_vs_size.rst", category="Plots"
        ),
        training_curves=report(
            "results/plots/training_curves.png", caption="../report/training_curves.rst", category="Plots"
        ),
        edgetpu_ops=report("results/plots/edgetpu_ops.png", caption="../report/edgetpu_ops.rst", category="Plots"),
        per_class_recall=report(
            "results/plots/per_class_recall.png", caption="../report/per_class_recall.rst", category="Plots"
        ),
        # One per model, in the order of the metrics input.
        confusion_matrices=[
            report(path, caption="../report/confusion_matrix.rst", category="Confusion matrices (int8)")
            for path in all_models("results/plots/confusion_matrix_{dataset}_{model}.png")
        ],
    input:
        unpack(code("plot_results")),
        table="results/benchmark.csv",
        metrics=all_models("results/{dataset}/{model}/metrics.json"),
        histories=all_models("results/{dataset}/{model}/history.csv", TRAINED),
    log:
        "results/logs/plot_results.log",
    benchmark:
        "results/benchmarks/plot_results.tsv"
    conda:
        "../envs/plots.yaml"
    shell:
        "python {input.script:q} --table {input.table:q} --metrics {input.metrics:q} --histories {input.histories:q}"
        " --latency {output.latency:q} --accuracy-vs-size {output.accuracy_vs_size:q}"
        " --training-curves {output.training_curves:q} --edgetpu-ops {output.edgetpu_ops:q}"
        " --per-class-recall {output.per_class_recall:q} --confusion-matrices {output.confusion_matrices:q}"
        " > {log:q} 2>&1"


# Plain strings: a file taken from rules.X.output carries its rule, and one such file among the
# manifest's thousands of inputs makes Snakemake's DAG build quadratic in their number.
PLOTS = [str(path) for path in rules.plot_results.output]
BENCHMARK_RULES = [f"benchmark_{kind}" for kind in benchmark_kinds()]


rule manifest:
    output:
        "results/manifest.json",
    input:
        unpack(code("manifest")),
        artifacts=stages.manifest_paths(config, bool(COMPILER), TRAINED, BENCHMARK_RULES, PLOTS),
    params:
        # The job lists the entries itself: thousands of them would not fit on a command line.
        config=stages.as_json(config),
        compiled="--compiled" if COMPILER else "",
        trained=TRAINED,
        benchmark_rules=BENCHMARK_RULES,
        plots=PLOTS,
        # Files you bring: models (`source`) and pretrained weights (`weights: <path>`).
        brought=stages.as_json({name: model.get("source") or wf.weights_file(model) for name, model in config["models"].items()
                                if model.get("source") or wf.weights_file(model)}),
    log:
        "results/logs/manifest.log",
    benchmark:
        "results/benchmarks/manifest.tsv"
    conda:
        "../envs/data.yaml"
    shell:
        "python {input.script:q} --config {params.config:q} {params.compiled} --trained {params.trained:q}"
        " --benchmark-rules {params.benchmark_rules:q}"
        " --plots {params.plots:q} --brought {params.brought:q} --output {output:q} > {log:q} 2>&1"


rule compare_baseline:
    output:
        table=report("results/comparison/comparison.csv", caption="../report/comparison.rst", category="Comparison"),
        markdown="results/comparison/comparison.md",
        plot=report("results/comparison/accuracy_vs_latency.png", caption="../report/accuracy_vs_latency.rst",
                    category="Comparison"),
    input:
        unpack(code("compare_baseline")),
        table="results/benchmark.csv",
        manifest="results/manifest.json",
        baseline=BASELINE or [],  # the rule runs only when a baseline is set
    log:
        "results/logs/compare_baseline.log",
    benchmark:
        "results/benchmarks/compare_baseline.tsv"
    conda:
        "../envs/plots.yaml"
    shell:
        "python {input.script:q} {input.baseline:q} results --write-to results/comparison > {log:q} 2>&1"

