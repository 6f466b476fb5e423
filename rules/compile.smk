# The Edge TPU compile stage runs where a compiler is found (config `compile`, see config/README.md).

rule compile_edgetpu:
    output:
        directory("results/{dataset}/{model}/edgetpu"),
    input:
        unpack(code("compile_edgetpu")),
        model="results/{dataset}/{model}/model_int8.tflite",
        labels="results/{dataset}/{model}/labels.txt",
    params:
        compile=stages.as_json(config["compile"]),
        # With compile.compiler: required, a failed compile's evidence is kept here (the output is not made).
        failed_evidence="results/{dataset}/{model}/logs/compile_edgetpu_failed",
    log:
        "results/{dataset}/{model}/logs/compile_edgetpu.log",
    benchmark:
        "results/{dataset}/{model}/benchmarks/compile_edgetpu.tsv"
    conda:
        "../envs/litert.yaml"
    shell:
        "python {input.script:q} --model {input.model:q} --settings {params.compile:q}"
        " --labels {input.labels:q} --failed-evidence {params.failed_evidence:q} --output {output:q} > {log:q} 2>&1"


rule predict_edgetpu:
    output:
        "results/{dataset}/{model}/edgetpu_prediction.json",
    input:
        unpack(code("predict_edgetpu")),
        model="results/{dataset}/{model}/model_int8.tflite",
    params:
        arguments=wf.prediction_arguments(config["compile"], config["predict"]),
    log:
        "results/{dataset}/{model}/logs/predict_edgetpu.log",
    benchmark:
        "results/{dataset}/{model}/benchmarks/predict_edgetpu.tsv"
    conda:
        "../envs/litert.yaml"
    shell:
        "python {input.script:q} {input.model:q} {params.arguments:q} --output {output:q} > {log:q} 2>&1"
