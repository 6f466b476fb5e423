# Benchmarks run alone (threads: all cores) so that no other job disturbs the timings.


rule benchmark_cpu:
    input:
        unpack(code("benchmark_cpu")),
        unpack(trained_artifacts),
        unpack(prepared_data),
        metrics=model_path("metrics.json"),
        int8=model_path("model_int8.tflite"),
    output:
        model_path("benchmark_cpu.csv"),
    log:
        model_log("benchmark_cpu"),
    benchmark:
        model_benchmark("benchmark_cpu")
    conda:
        "../envs/litert.yaml"
    threads: all_cores()
    params:
        data=data_option,
        benchmark=stages.as_json(config["benchmark"]),
        input_range=lambda w: wf.input_range(w.model, model_settings(w)),
        tflite=lambda w, input: [f"{name}={input[name]}" for name in ("float32", "int8") if name in input.keys()],
    shell:
        "python {input.script:q} --dataset {wildcards.dataset:q} --model {wildcards.model:q}"
        " {params.data:q} --devices cpu --metrics {input.metrics:q}"
        " --tflite {params.tflite:q} --input-range {params.input_range}"
        " --settings {params.benchmark:q} --output {output:q} > {log:q} 2>&1"


rule benchmark_edgetpu:
    input:
        unpack(code("benchmark_edgetpu")),
        unpack(prepared_data),
        int8=model_path("model_int8.tflite"),
        compiled=compile_folder,
    output:
        table=model_path("benchmark_edgetpu.csv"),
        # Per device, the compiled model's per-class metrics and confusion matrix (as in metrics.json).
        class_metrics=model_path("metrics_edgetpu.json"),
    log:
        model_log("benchmark_edgetpu"),
    benchmark:
        model_benchmark("benchmark_edgetpu")
    conda:
        "../envs/coral.yaml"
    threads: all_cores()
    resources:
        edgetpu=1,
    params:
        data=data_option,
        benchmark=stages.as_json(config["benchmark"]),
        devices=edgetpu_devices(),
        compiled=lambda w, input: (
            f"--edgetpu-folder={input.compiled}" if input.compiled else f"--no-compiled-model={skipped(NO_COMPILER)}"
        ),
    shell:
        "python {input.script:q} --dataset {wildcards.dataset:q} --model {wildcards.model:q}"
        " {params.data:q} --devices {params.devices:q} {params.compiled:q} --reference {input.int8:q}"
        " --settings {params.benchmark:q} --output {output.table:q} --class-metrics {output.class_metrics:q}"
        " > {log:q} 2>&1"


# Not a measurement: the Edge TPU latency estimated for each `benchmark.estimate` setup, from the
# compiled model where one was made, else from the int8 model and the placement prediction.
rule estimate_edgetpu:
    input:
        unpack(code("estimate_edgetpu")),
        int8=model_path("model_int8.tflite"),
        compiled=compile_folder,
        coefficients=ESTIMATE_COEFFICIENTS,
    output:
        model_path("estimate_edgetpu.csv"),
    log:
        model_log("estimate_edgetpu"),
    benchmark:
        model_benchmark("estimate_edgetpu")
    conda:
        "../envs/litert.yaml"
    params:
        setups=config["benchmark"]["estimate"],
        compiled=lambda w, input: [f"--compiled-folder={input.compiled}"] if input.compiled else [],
    shell:
        "python {input.script:q} {input.int8:q} {params.compiled:q} --setup {params.setups:q}"
        " --record-of {wildcards.dataset:q} {wildcards.model:q} --output {output:q} > {log:q} 2>&1"


rule benchmark_table:
    input:
        unpack(code("benchmark_table")),
        tables=benchmark_tables(),
        compiled=compile_reports(),
        predictions=all_models(model_path("edgetpu_prediction.json")),
    output:
        report(BENCHMARK_TABLE, caption="../report/benchmark.rst", category="Tables"),
    log:
        run_log("benchmark_table"),
    benchmark:
        run_benchmark("benchmark_table")
    conda:
        "../envs/data.yaml"
    params:
        compile_skipped=skipped(NO_COMPILER) if NO_COMPILER else "",
    shell:
        "python {input.script:q} --inputs {input.tables:q} --compile-reports {input.compiled:q}"
        " --compile-skipped={params.compile_skipped:q} --predictions {input.predictions:q}"
        " --output {output:q} > {log:q} 2>&1"
