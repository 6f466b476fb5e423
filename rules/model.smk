# Models with Keras and float32 stages (built here, or brought as .keras / SavedModel) take the
# rules from training to quantization; a brought int8 .tflite takes import_int8 instead.


rule train:
    input:
        unpack(code("train")),
        unpack(brought_model),
        unpack(pretrained_weights),
        data=rules.prepare_dataset.output[0],
    output:
        model=model_path("model.keras"),
        history=model_path("history.csv"),
    log:
        model_log("train"),
    benchmark:
        model_benchmark("train")
    wildcard_constraints:
        model=TRAINED_MODELS,
    conda:
        "../envs/tensorflow.yaml"
    threads: 2
    params:
        settings=stage_settings("train"),
        # Not an output: Snakemake deletes outputs before a job starts, and this must survive a kill.
        state=model_path("train_state.npz"),
    shell:
        "python {input.script:q} --data {input.data:q} --name {wildcards.model:q} --model-settings {params.settings[model]:q}"
        " --train-settings {params.settings[train]:q} --threads {threads} --code-digest {input.code:q}"
        " --model {output.model:q} --history {output.history:q} --state {params.state:q} > {log:q} 2>&1"


rule export_saved_model:
    input:
        unpack(code("export_saved_model")),
        model=rules.train.output.model,
    output:
        directory(model_path("saved_model")),
    log:
        model_log("export_saved_model"),
    benchmark:
        model_benchmark("export_saved_model")
    wildcard_constraints:
        model=TRAINED_MODELS,
    conda:
        "../envs/tensorflow.yaml"
    shell:
        "python {input.script:q} --model {input.model:q} --output {output:q} > {log:q} 2>&1"


rule convert_float32:
    input:
        unpack(code("convert_float32")),
        saved_model=rules.export_saved_model.output[0],
    output:
        model_path("model_float32.tflite"),
    log:
        model_log("convert_float32"),
    benchmark:
        model_benchmark("convert_float32")
    wildcard_constraints:
        model=TRAINED_MODELS,
    conda:
        "../envs/tensorflow.yaml"
    shell:
        "python {input.script:q} --kind float32 --saved-model {input.saved_model:q}"
        " --output {output:q} > {log:q} 2>&1"


rule quantize_int8:
    input:
        unpack(code("quantize_int8")),
        saved_model=rules.export_saved_model.output[0],
        data=rules.prepare_dataset.output[0],
    output:
        model=model_path("model_int8.tflite"),
        # Class names in index order, one per line, as Coral's examples read them.
        labels=model_path("labels.txt"),
    log:
        model_log("quantize_int8"),
    benchmark:
        model_benchmark("quantize_int8")
    wildcard_constraints:
        model=TRAINED_MODELS,
    conda:
        "../envs/tensorflow.yaml"
    params:
        settings=stage_settings("quantize_int8"),
        input_range=lambda w: wf.input_range(w.model, stage_config("quantize_int8", w)["model"]),
    shell:
        "python {input.script:q} --kind int8 --saved-model {input.saved_model:q} --data {input.data:q}"
        " --input-range {params.input_range} --settings {params.settings[quantize]:q}"
        " --output {output.model:q} --labels {output.labels:q} > {log:q} 2>&1"


rule evaluate:
    input:
        unpack(code("evaluate")),
        unpack(trained_artifacts),
        unpack(prepared_data),
        int8=model_path("model_int8.tflite"),
    output:
        model_path("metrics.json"),
    log:
        model_log("evaluate"),
    benchmark:
        model_benchmark("evaluate")
    conda:
        "../envs/tensorflow.yaml"
    params:
        data=data_option,
        task=lambda w: wf.task_name(stage_config("evaluate", w)["model"]),
        input_range=lambda w: wf.input_range(w.model, stage_config("evaluate", w)["model"]),
        tflite=lambda w, input: [f"{name}={input[name]}" for name in ("float32", "int8") if name in input.keys()],
        keras=lambda w, input: [f"--keras={input.keras}"] if "keras" in input.keys() else [],
        # Models quantized here: metrics.json records how many training images calibrated them.
        calibration=lambda w: (
            [f"--representative-samples={stage_config('evaluate', w)['representative_samples']}"]
            if w.model in TRAINED
            else []
        ),
    shell:
        "python {input.script:q} {params.data:q} --task {params.task:q} {params.keras:q} --input-range {params.input_range}"
        " --tflite {params.tflite:q} {params.calibration:q} --record-of {wildcards.dataset:q} {wildcards.model:q} --output {output:q} > {log:q} 2>&1"


rule import_int8:
    input:
        unpack(code("import_int8")),
        unpack(brought_model),
        unpack(prepared_data),
    output:
        model=model_path("model_int8.tflite"),
        labels=model_path("labels.txt"),
    log:
        model_log("import_int8"),
    benchmark:
        model_benchmark("import_int8")
    wildcard_constraints:
        model=INT8_MODELS,
    conda:
        "../envs/litert.yaml"
    params:
        data=data_option,
        task=lambda w: wf.task_name(stage_config("import_int8", w)["model"]),
    shell:
        "python {input.script:q} --source {input.source:q} --task {params.task:q} {params.data:q}"
        " --output {output.model:q} --labels {output.labels:q} > {log:q} 2>&1"
