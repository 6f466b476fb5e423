rule summary_table:
    output:
        report("results/summary.csv", caption="../report/summary.rst", category="Tables"),
    input:
        unpack(code("summarize_results.py")),
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
    input:
        unpack(code("plot_results.py")),
        table="results/benchmark.csv",
        histories=all_models("results/{dataset}/{model}/history.csv", wf.trained_models(config)),
    log:
        "results/logs/plot_results.log",
    benchmark:
        "results/benchmarks/plot_results.tsv"
    conda:
        "../envs/plots.yaml"
    shell:
        "python {input.script:q} --table {input.table:q} --histories {input.histories:q}"
        " --latency {output.latency:q} --accuracy-vs-size {output.accuracy_vs_size:q}"
        " --training-curves {output.training_curves:q} --edgetpu-ops {output.edgetpu_ops:q} > {log:q} 2>&1"


rule manifest:
    output:
        "results/manifest.json",
    input:
        unpack(code("write_manifest.py")),
        artifacts=[entry["path"] for entry in manifest_entries()],
    params:
        entries=wf.as_json(manifest_entries()),
        brought=wf.as_json({name: model["source"] for name, model in config["models"].items() if "source" in model}),
    log:
        "results/logs/manifest.log",
    benchmark:
        "results/benchmarks/manifest.tsv"
    conda:
        "../envs/data.yaml"
    shell:
        "python {input.script:q} --entries {params.entries:q} --brought {params.brought:q}"
        " --output {output:q} > {log:q} 2>&1"
