# One rule per device target (scripts/coralbuild/measure/targets/: the CPU, the Edge TPU, the
# latency estimate), generated from its declaration: what it takes, runs, writes and holds. Those
# that time a model run alone (threads: all cores) so that no other job disturbs the timings.


for target in all_targets():

    rule:
        name:
            target.RULE
        input:
            unpack(code(target.RULE)),
            unpack(target_inputs(target)),
        output:
            **{name: model_path(file) for name, file in target.OUTPUTS.items()},
        log:
            model_log(target.RULE),
        benchmark:
            model_benchmark(target.RULE)
        # Without a compiler every row of a target that runs the compiled model can only say
        # "skipped": its jobs run on the submit host, never queued for a node the cluster may not have.
        localrule: target.NEEDS_COMPILE and not COMPILER
        conda:
            f"../envs/{target.ENVIRONMENT}.yaml"
        threads: all_cores() if target.RUNS_ALONE else 1
        resources:
            **target.RESOURCES,
        params:
            # What reruns its jobs when the config changes (a param made from the job's inputs or
            # outputs, as its command line is, is not compared by Snakemake).
            settings=stage_settings(target.RULE),
            arguments=target_arguments(target),
        shell:
            "python {input.script:q} {params.arguments:q} > {log:q} 2>&1"


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
