rule training_curves:
    """Accuracy and loss against step (the grokking curves) of one op."""
    input:
        metrics="results/{op}/metric.csv",
        script="scripts/plots/training_curves.py",
    output:
        accuracy=multiext("results/{op}/figures/accuracy", ".png", ".pdf"),
        loss=multiext("results/{op}/figures/loss", ".png", ".pdf"),
    log:
        "results/logs/figures/training_curves/{op}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "python {input.script:q} --metrics {input.metrics:q} "
        "--accuracy {output.accuracy[0]:q} --loss {output.loss[0]:q} > {log:q} 2>&1"


rule plot_effective_rank:
    """Effective rank of each weight matrix with accuracy, one figure per matrix."""
    input:
        erank="results/{op}/effective_rank.csv",
        metrics="results/{op}/metric.csv",
        script="scripts/plots/effective_rank.py",
    output:
        expand("results/{{op}}/figures/effective_rank/{matrix}{ext}", matrix=MATRICES, ext=(".png", ".pdf")),
    params:
        outdir="results/{op}/figures/effective_rank",
    log:
        "results/logs/figures/effective_rank/{op}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "python {input.script:q} --erank {input.erank:q} --metrics {input.metrics:q} "
        "--outdir {params.outdir:q} > {log:q} 2>&1"
