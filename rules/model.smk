# Models with Keras and float32 stages (built here, or brought as .keras / SavedModel) take the
# rules from training to quantization; a brought int8 .tflite takes import_int8 instead.


rule train:
    wildcard_constraints:
        model=TRAINED_MODELS,
    output:
        model="results/{dataset}/{model}/model.keras",
        history="results/{dataset}/{model}/history.csv",
    input:
        unpack(code("train")),
        unpack(brought_model),
        unpack(pretrained_weights),
        data=rules.prepare_dataset.output[0],
    params:
        model=lambda w: stages.as_json(stages.architecture_settings(model_settings(w))),
        train=lambda w: stages.as_json(stages.train_settings(config["train"], model_settings(w))),
        # Not an output: Snakemake deletes outputs before a job starts, and this must survive a kill.
        state="results/{dataset}/{model}/train_state.npz",
    threads: 2
    log:
        "results/{dataset}/{model}/logs/train.log",
    benchmark:
        "results/{dataset}/{model}/benchmarks/train.tsv"
    conda:
        "../envs/tensorflow.yaml"
    shell:
        "python {input.script:q} --data {input.data:q} --name {wildcards.model:q} --model-settings {params.model:q}"
        " --train-settings {params.train:q} --threads {threads} --code-digest {input.code:q}"
        " --model {output.model:q} --history {output.history:q} --state {params.state:q} > {log:q} 2>&1"


rule export_saved_model:
    wildcard_constraints:
        model=TRAINED_MODELS,
    output:
        directory("results/{dataset}/{model}/saved_model"),
    input:
        unpack(code("export_saved_model")),
        model="results/{dataset}/{model}/model.keras",
    log:
        "results/{dataset}/{model}/logs/export_saved_model.log",
    benchmark:
        "results/{dataset}/{model}/benchmarks/export_saved_model.tsv"
    conda:
        "../envs/tensorflow.yaml"
    shell:
        "python {input.script:q} --model {input.model:q} --output {output:q} > {log:q} 2>&1"


rule convert_float32:
    wildcard_constraints:
        model=TRAINED_MODELS,
    output:
        "results/{dataset}/{model}/model_float32.tflite",
    input:
        unpack(code("convert_float32")),
        saved_model="results/{dataset}/{model}/saved_model",
    log:
        "results/{dataset}/{model}/logs/convert_float32.log",
    benchmark:
        "results/{dataset}/{model}/benchmarks/convert_float32.tsv"
    conda:
        "../envs/tensorflow.yaml"
    shell:
        "python {input.script:q} --kind float32 --saved-model {input.saved_model:q}"
        " --output {output:q} > {log:q} 2>&1"


rule quantize_int8:
    wildcard_constraints:
        model=TRAINED_MODELS,
    output:
        model="results/{dataset}/{model}/model_int8.tflite",
        # Class names in index order, one per line, as Coral's examples read them.
        labels="results/{dataset}/{model}/labels.txt",
    input:
        unpack(code("quantize_int8")),
        saved_model="results/{dataset}/{model}/saved_model",
        data=rules.prepare_dataset.output[0],
    params:
        quantize=stages.as_json(config["quantize"]),
        input_range=lambda w: wf.input_range(w.model, model_settings(w)),
    log:
        "results/{dataset}/{model}/logs/quantize_int8.log",
    benchmark:
        "results/{dataset}/{model}/benchmarks/quantize_int8.tsv"
    conda:
        "../envs/tensorflow.yaml"
    shell:
        "python {input.script:q} --kind int8 --saved-model {input.saved_model:q} --data {input.data:q}"
        " --input-range {params.input_range} --settings {params.quantize:q}"
        " --output {output.model:q} --labels {output.labels:q} > {log:q} 2>&1"


rule evaluate:
    output:
        "results/{dataset}/{model}/metrics.json",
    input:
        unpack(code("evaluate")),
        unpack(trained_artifacts),
        data=rules.prepare_dataset.output[0],
        int8="results/{dataset}/{model}/model_int8.tflite",
    params:
        input_range=lambda w: wf.input_range(w.model, model_settings(w)),
        tflite=lambda w, input: [f"{name}={input[name]}" for name in ("float32", "int8") if name in input.keys()],
        keras=lambda w, input: [f"--keras={input.keras}"] if "keras" in input.keys() else [],
        # Models quantized here: metrics.json records how many training images calibrated them.
        calibration=lambda w: [f"--representative-samples={config['quantize']['representative_samples']}"] if w.model in TRAINED else [],
    log:
        "results/{dataset}/{model}/logs/evaluate.log",
    benchmark:
        "results/{dataset}/{model}/benchmarks/evaluate.tsv"
    conda:
        "../envs/tensorflow.yaml"
    shell:
        "python {input.script:q} --data {input.data:q} {params.keras:q} --input-range {params.input_range}"
        " --tflite {params.tflite:q} {params.calibration:q} --output {output:q} > {log:q} 2>&1"


rule import_int8:
    wildcard_constraints:
        model=INT8_MODELS,
    output:
        model="results/{dataset}/{model}/model_int8.tflite",
        labels="results/{dataset}/{model}/labels.txt",
    input:
        unpack(code("import_int8")),
        unpack(brought_model),
        data=rules.prepare_dataset.output[0],
    log:
        "results/{dataset}/{model}/logs/import_int8.log",
    benchmark:
        "results/{dataset}/{model}/benchmarks/import_int8.tsv"
    conda:
        "../envs/litert.yaml"
    shell:
        "python {input.script:q} --source {input.source:q} --data {input.data:q}"
        " --output {output.model:q} --labels {output.labels:q} > {log:q} 2>&1"
