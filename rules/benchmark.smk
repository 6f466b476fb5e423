rule benchmark_model:
    output:
        "results/{dataset}/{model}/benchmark.csv",
    input:
        unpack(code("benchmark.py")),
        data="results/{dataset}/data.npz",
        metrics="results/{dataset}/{model}/metrics.json",
        float32="results/{dataset}/{model}/model_float32.tflite",
        int8="results/{dataset}/{model}/model_int8.tflite",
    params:
        benchmark=wf.as_json(config["benchmark"]),
    threads: config["benchmark"]["threads"]
    log:
        "results/{dataset}/{model}/logs/benchmark_model.log",
    benchmark:
        "results/{dataset}/{model}/benchmarks/benchmark_model.tsv"
    conda:
        "../envs/litert.yaml"
    shell:
        "python {input.script:q} --dataset {wildcards.dataset:q} --model {wildcards.model:q}"
        " --data {input.data:q} --metrics {input.metrics:q}"
        " --tflite float32={input.float32:q} int8={input.int8:q}"
        " --settings {params.benchmark:q} --output {output:q} > {log:q} 2>&1"


rule benchmark_table:
    output:
        "results/benchmark.csv",
    input:
        unpack(code("collect_benchmark.py")),
        tables=all_models("results/{dataset}/{model}/benchmark.csv"),
        compiled=compile_reports(),
    params:
        compile_skipped=f"skipped: {NO_COMPILER}" if NO_COMPILER else "",
    log:
        "results/logs/benchmark_table.log",
    conda:
        "../envs/data.yaml"
    shell:
        "python {input.script:q} --inputs {input.tables:q} --compile-reports {input.compiled:q}"
        " --compile-skipped={params.compile_skipped:q} --output {output:q} > {log:q} 2>&1"
