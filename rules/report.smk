rule summary_table:
    input:
        unpack(code("summary_table")),
        table=rules.benchmark_table.output[0],
        metrics=all_models(model_path("metrics.json")),
    output:
        report(SUMMARY_TABLE, caption="../report/summary.rst", category="Tables"),
    log:
        run_log("summary_table"),
    benchmark:
        run_benchmark("summary_table")
    conda:
        "../envs/data.yaml"
    shell:
        "python {input.script:q} --table {input.table:q} --metrics {input.metrics:q}"
        " --output {output:q} > {log:q} 2>&1"


rule plot_results:
    input:
        unpack(code("plot_results")),
        table=rules.benchmark_table.output[0],
        metrics=all_models(model_path("metrics.json")),
        histories=all_models(model_path("history.csv"), TRAINED),
    output:
        latency=report(run_path("plots/latency.png"), caption="../report/latency.rst", category="Plots"),
        accuracy_vs_size=report(
            run_path("plots/accuracy_vs_size.png"), caption="../report/accuracy_vs_size.rst", category="Plots"
        ),
        training_curves=report(
            run_path("plots/training_curves.png"), caption="../report/training_curves.rst", category="Plots"
        ),
        edgetpu_ops=report(run_path("plots/edgetpu_ops.png"), caption="../report/edgetpu_ops.rst", category="Plots"),
        per_class_recall=report(
            run_path("plots/per_class_recall.png"), caption="../report/per_class_recall.rst", category="Plots"
        ),
        # One per model, in the order of the metrics input.
        confusion_matrices=[
            report(path, caption="../report/confusion_matrix.rst", category="Confusion matrices (int8)")
            for path in all_models(run_path("plots/confusion_matrix_{dataset}_{model}.png"))
        ],
    log:
        run_log("plot_results"),
    benchmark:
        run_benchmark("plot_results")
    conda:
        "../envs/plots.yaml"
    params:
        # Each history named by its dataset and model, in the order of the input.
        histories=all_models(f"{{dataset}}/{{model}}={model_path('history.csv')}", TRAINED),
    shell:
        "python {input.script:q} --table {input.table:q} --metrics {input.metrics:q} --histories {params.histories:q}"
        " --latency {output.latency:q} --accuracy-vs-size {output.accuracy_vs_size:q}"
        " --training-curves {output.training_curves:q} --edgetpu-ops {output.edgetpu_ops:q}"
        " --per-class-recall {output.per_class_recall:q} --confusion-matrices {output.confusion_matrices:q}"
        " > {log:q} 2>&1"


# Plain strings: a file taken from rules.X.output carries its rule, and one such file among the
# manifest's thousands of inputs makes Snakemake's DAG build quadratic in their number.
PLOTS = [str(path) for path in rules.plot_results.output]
BENCHMARK_RULES = benchmark_rules()


rule manifest:
    input:
        unpack(code("manifest")),
        artifacts=stages.manifest_paths(config, bool(COMPILER), TRAINED, BENCHMARK_RULES, PLOTS),
    output:
        MANIFEST,
    log:
        run_log("manifest"),
    benchmark:
        run_benchmark("manifest")
    conda:
        "../envs/data.yaml"
    params:
        # The job lists the entries itself: thousands of them would not fit on a command line.
        config=stages.as_json(config),
        compiled="--compiled" if COMPILER else "",
        trained=TRAINED,
        benchmark_rules=BENCHMARK_RULES,
        plots=PLOTS,
        # Files you bring: models (`source`) and pretrained weights (`weights: <path>`).
        brought=stages.as_json(
            {
                name: model.get("source") or wf.weights_file(model)
                for name, model in config["models"].items()
                if model.get("source") or wf.weights_file(model)
            }
        ),
    shell:
        "python {input.script:q} --config {params.config:q} {params.compiled} --trained {params.trained:q}"
        " --benchmark-rules {params.benchmark_rules:q}"
        " --plots {params.plots:q} --brought {params.brought:q} --output {output:q} > {log:q} 2>&1"


rule compare_baseline:
    input:
        unpack(code("compare_baseline")),
        table=rules.benchmark_table.output[0],
        manifest=MANIFEST,
        baseline=BASELINE or [],  # the rule runs only when a baseline is set
    output:
        table=report(run_path("comparison/comparison.csv"), caption="../report/comparison.rst", category="Comparison"),
        markdown=run_path("comparison/comparison.md"),
        plot=report(
            run_path("comparison/accuracy_vs_latency.png"),
            caption="../report/accuracy_vs_latency.rst",
            category="Comparison",
        ),
    log:
        run_log("compare_baseline"),
    benchmark:
        run_benchmark("compare_baseline")
    conda:
        "../envs/plots.yaml"
    params:
        # This run's results folder (holding its benchmark table), and where the comparison goes.
        results=lambda w, input: os.path.dirname(input.table),
        comparison=lambda w, output: os.path.dirname(output.table),
    shell:
        "python {input.script:q} {input.baseline:q} {params.results:q} --write-to {params.comparison:q} > {log:q} 2>&1"
