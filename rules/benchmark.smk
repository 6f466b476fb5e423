# Benchmarks run alone (threads: all cores) so that no other job disturbs the timings.


rule benchmark_cpu:
    output:
        "results/{dataset}/{model}/benchmark_cpu.csv",
    input:
        unpack(code("benchmark_cpu")),
        unpack(trained_artifacts),
        data=rules.prepare_dataset.output[0],
        metrics="results/{dataset}/{model}/metrics.json",
        int8="results/{dataset}/{model}/model_int8.tflite",
    params:
        benchmark=stages.as_json(config["benchmark"]),
        input_range=lambda w: wf.input_range(w.model, model_settings(w)),
        tflite=lambda w, input: [f"{name}={input[name]}" for name in ("float32", "int8") if name in input.keys()],
    threads: all_cores()
    log:
        "results/{dataset}/{model}/logs/benchmark_cpu.log",
    benchmark:
        "results/{dataset}/{model}/benchmarks/benchmark_cpu.tsv"
    conda:
        "../envs/litert.yaml"
    shell:
        "python {input.script:q} --dataset {wildcards.dataset:q} --model {wildcards.model:q}"
        " --data {input.data:q} --devices cpu --metrics {input.metrics:q}"
        " --tflite {params.tflite:q} --input-range {params.input_range}"
        " --settings {params.benchmark:q} --output {output:q} > {log:q} 2>&1"


rule benchmark_edgetpu:
    output:
        table="results/{dataset}/{model}/benchmark_edgetpu.csv",
        # Per device, the compiled model's per-class metrics and confusion matrix (as in metrics.json).
        class_metrics="results/{dataset}/{model}/metrics_edgetpu.json",
    input:
        unpack(code("benchmark_edgetpu")),
        data=rules.prepare_dataset.output[0],
        int8="results/{dataset}/{model}/model_int8.tflite",
        compiled=compile_folder,
    params:
        benchmark=stages.as_json(config["benchmark"]),
        devices=edgetpu_devices(),
        compiled=lambda w, input: f"--edgetpu-folder={input.compiled}" if input.compiled else f"--no-compiled-model=skipped: {NO_COMPILER}",
    threads: all_cores()
    resources:
        edgetpu=1,
    log:
        "results/{dataset}/{model}/logs/benchmark_edgetpu.log",
    benchmark:
        "results/{dataset}/{model}/benchmarks/benchmark_edgetpu.tsv"
    conda:
        "../envs/coral.yaml"
    shell:
        "python {input.script:q} --dataset {wildcards.dataset:q} --model {wildcards.model:q}"
        " --data {input.data:q} --devices {params.devices:q} {params.compiled:q} --reference {input.int8:q}"
        " --settings {params.benchmark:q} --output {output.table:q} --class-metrics {output.class_metrics:q}"
        " > {log:q} 2>&1"


rule benchmark_table:
    output:
        report("results/benchmark.csv", caption="../report/benchmark.rst", category="Tables"),
    input:
        unpack(code("benchmark_table")),
        tables=benchmark_tables(),
        compiled=compile_reports(),
        predictions=all_models("results/{dataset}/{model}/edgetpu_prediction.json"),
    params:
        compile_skipped=f"skipped: {NO_COMPILER}" if NO_COMPILER else "",
    log:
        "results/logs/benchmark_table.log",
    benchmark:
        "results/benchmarks/benchmark_table.tsv"
    conda:
        "../envs/data.yaml"
    shell:
        "python {input.script:q} --inputs {input.tables:q} --compile-reports {input.compiled:q}"
        " --compile-skipped={params.compile_skipped:q} --predictions {input.predictions:q}"
        " --output {output:q} > {log:q} 2>&1"
