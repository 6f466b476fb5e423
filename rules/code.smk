# One file per script that stands for its code: the sha256 of the script and of every package
# module it imports. Each rule lists its script's digest as an input instead of a dozen code files,
# so that an edit of any of them reruns exactly the rules that run it, and the DAG stays cheap.


rule code_digest:
    input:
        code=lambda w: script_code(w.script),
        # The digest's own script and modules (a handful, for a dozen jobs at most).
        digester=script_code("digest_code"),
    output:
        code_digest("{script}"),
    log:
        run_log("code_digest_{script}"),
    conda:
        "../envs/data.yaml"
    params:
        scripts=os.path.join(WORKFLOW_DIR, "scripts"),
    shell:
        "python {input.digester[0]:q} --root {params.scripts:q} --files {input.code:q} --output {output:q} > {log:q} 2>&1"
