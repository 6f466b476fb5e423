rule download_dataset_file:
    input:
        unpack(code("download_dataset_file")),
    output:
        download("{filename}"),
    log:
        dataset_log("download_{filename}"),
    benchmark:
        dataset_benchmark("download_{filename}")
    conda:
        "../envs/data.yaml"
    params:
        source=lambda w: wf.download_source(dataset_settings(w), w.filename),
    shell:
        "python {input.script:q} --url {params.source[0]:q} --sha256 {params.source[1]:q}"
        " --max-bytes {params.source[2]} --output {output:q} > {log:q} 2>&1"


rule prepare_dataset:
    input:
        unpack(lambda w: wf.dataset_inputs(w.dataset, dataset_settings(w))),
        unpack(code("prepare_dataset")),
    output:
        directory(data_folder()),
    log:
        dataset_log("prepare_dataset"),
    benchmark:
        dataset_benchmark("prepare_dataset")
    conda:
        "../envs/data.yaml"
    # Images are decoded on this many threads (capped by --cores).
    threads: 8
    params:
        settings=stage_settings("prepare_dataset"),
        format=lambda w: stage_config("prepare_dataset", w)["dataset"]["format"],
        source=lambda w: stages.as_json(wf.dataset_source(w.dataset, dataset_settings(w))),
        # An image folder's sha256, in place of its images as inputs (thousands of names in the
        # job's printout): an edited, added or removed image changes it, a touched one does not.
        source_sha256=lambda w: wf.dataset_source_digest(w.dataset, dataset_settings(w)),
    shell:
        "python {input.script:q} --format {params.format:q} --source {params.source:q}"
        " --settings {params.settings[dataset]:q} --threads {threads} --output {output:q} > {log:q} 2>&1"
