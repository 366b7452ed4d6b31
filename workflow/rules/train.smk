rule train:
    """Train one (op, seed). Resumes from its train_state.pt (kept outside the declared outputs,
    so that Snakemake's clean-up of an interrupted job does not delete it)."""
    output:
        checkpoints=CHECKPOINTS,
        metrics=f"{RUN_DIR}/metric.csv",
    params:
        flags=train_flags(),
        out=RUN_DIR,
    log:
        "results/logs/train/{op}/seed{seed}.log",
    threads: config["train"]["threads"]
    resources:
        mem_mb=2000,
        runtime=train_runtime_minutes(),
    conda:
        ENV
    shell:
        "python scripts/train.py --op {wildcards.op:q} --seed {wildcards.seed} {params.flags} "
        "--out {params.out:q} --threads {threads} > {log:q} 2>&1"


rule metric_table:
    """All seeds' metric.csv of one op in one table."""
    input:
        seed_metric_csvs,
    output:
        "results/{op}/metric.csv",
    log:
        "results/logs/metric_table/{op}.log",
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        ENV
    shell:
        "python scripts/combine_metrics.py {input:q} --output {output:q} > {log:q} 2>&1"
