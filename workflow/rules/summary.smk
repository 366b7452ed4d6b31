from grokflow.settings import ModulusSettings


rule op_summary:
    """results/{op}/summary.md, generated from the op's CSVs, with its figures linked."""
    input:
        unpack(script_with_library("scripts/op_summary.py")),
        metrics="results/{op}/metric.csv",
        key_frequencies="results/{op}/key_frequencies.csv",
        tables=expand("results/{{op}}/{table}.csv", table=SUMMARY_TABLES),
        figures=op_figure_pngs,
    output:
        "results/{op}/summary.md",
    params:
        modulus=flags(ModulusSettings.from_config(config)),
        tables=summary_tables,
    log:
        "results/logs/summary/{op}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENV
    shell:
        "python {input.script:q} --op {wildcards.op:q} --metrics {input.metrics:q} "
        "--key-frequencies {input.key_frequencies:q} --tables {params.tables} "
        "--figures {input.figures:q} {params.modulus} --output {output:q} > {log:q} 2>&1"


rule all_ops_summary:
    """results/summary.md: every op side by side, linking each op's summary."""
    input:
        unpack(script_with_library("scripts/all_ops_summary.py")),
        metrics=expand("results/{op}/metric.csv", op=OPS),
        key_frequencies=expand("results/{op}/key_frequencies.csv", op=OPS),
        summaries=expand("results/{op}/summary.md", op=OPS),
    output:
        "results/summary.md",
    params:
        ops=" ".join(shlex.quote(op) for op in OPS),
    log:
        "results/logs/summary/all.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENV
    shell:
        "python {input.script:q} --ops {params.ops} --metrics {input.metrics:q} "
        "--key-frequencies {input.key_frequencies:q} --summaries {input.summaries:q} "
        "--output {output:q} > {log:q} 2>&1"
