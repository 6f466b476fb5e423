# The Edge TPU compile stage runs where a compiler is found (config `compile`, see config/README.md).


rule compile_edgetpu:
    input:
        unpack(code("compile_edgetpu")),
        model=model_path("model_int8.tflite"),
        labels=model_path("labels.txt"),
    output:
        directory(model_path("edgetpu")),
    log:
        model_log("compile_edgetpu"),
    benchmark:
        model_benchmark("compile_edgetpu")
    conda:
        "../envs/litert.yaml"
    params:
        settings=stage_settings("compile_edgetpu"),
        # With compile.compiler: required, a failed compile's evidence is kept here (the output is not made).
        failed_evidence=model_path("logs/compile_edgetpu_failed"),
    shell:
        "python {input.script:q} --model {input.model:q} --settings {params.settings[compile]:q}"
        " --labels {input.labels:q} --failed-evidence {params.failed_evidence:q} --record-of {wildcards.dataset:q} {wildcards.model:q}"
        " --output {output:q} > {log:q} 2>&1"


rule predict_edgetpu:
    input:
        unpack(code("predict_edgetpu")),
        model=model_path("model_int8.tflite"),
    output:
        model_path("edgetpu_prediction.json"),
    log:
        model_log("predict_edgetpu"),
    benchmark:
        model_benchmark("predict_edgetpu")
    conda:
        "../envs/litert.yaml"
    params:
        arguments=lambda w: wf.prediction_arguments(stage_config("predict_edgetpu", w)),
    shell:
        "python {input.script:q} {input.model:q} {params.arguments:q} --record-of {wildcards.dataset:q} {wildcards.model:q}"
        " --output {output:q} > {log:q} 2>&1"
