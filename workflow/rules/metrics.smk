rule effective_rank:
    """Spectral entropy and effective rank of every 2-D linear map, every checkpoint and seed."""
    input:
        checkpoints=run_checkpoints,
        script="scripts/metrics/effective_rank.py",
    output:
        "results/{op}/effective_rank.csv",
    log:
        "results/logs/effective_rank/{op}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        ENV
    shell:
        "python {input.script:q} {input.checkpoints:q} --output {output:q} > {log:q} 2>&1"
