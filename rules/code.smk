# One file per script that stands for its code: the sha256 of the script and of every package
# module it imports. Each rule lists its script's digest as an input instead of a dozen code files,
# so that an edit of any of them reruns exactly the rules that run it, and the DAG stays cheap.


rule code_digest:
    output:
        "results/code/{script}.sha256",
    input:
        lambda w: script_code(w.script),
    params:
        scripts=os.path.join(WORKFLOW_DIR, "scripts"),
        files=lambda w, input: [os.path.relpath(path, os.path.join(WORKFLOW_DIR, "scripts")) for path in input],
    log:
        "results/logs/code_digest_{script}.log",
    conda:
        "../envs/data.yaml"
    shell:
        # Names relative to scripts/, so the digest is the same wherever the workflow runs from.
        "(cd {params.scripts:q} && sha256sum {params.files:q}) > {output:q} 2> {log:q}"
