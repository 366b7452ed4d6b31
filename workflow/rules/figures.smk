rule training_curves:
    """Accuracy and loss against step (the grokking curves) of one op."""
    input:
        metrics="results/{op}/metric.csv",
        script="scripts/plots/training_curves.py",
    output:
        accuracy="results/{op}/figures/accuracy.png",
        accuracy_pdf="results/{op}/figures/accuracy.pdf",
        loss="results/{op}/figures/loss.png",
        loss_pdf="results/{op}/figures/loss.pdf",
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
        "--accuracy {output.accuracy:q} --loss {output.loss:q} > {log:q} 2>&1"


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


rule metric_figure:
    """A metric against step with accuracy on a twin axis (one file per metric)."""
    input:
        table="results/{op}/{figure}.csv",
        metrics="results/{op}/metric.csv",
        script="scripts/plots/{figure}.py",
    output:
        png="results/{op}/figures/{figure}.png",
        pdf="results/{op}/figures/{figure}.pdf",
    wildcard_constraints:
        figure="|".join(TABLE_FLAGS),
    params:
        flag=lambda wildcards: TABLE_FLAGS[wildcards.figure],
    log:
        "results/logs/figures/{figure}/{op}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "python {input.script:q} {params.flag} {input.table:q} --metrics {input.metrics:q} "
        "--output {output.png:q} > {log:q} 2>&1"


rule qk_circuit_spectrum:
    """One 2-D spectrum heatmap of the layer-0 QK circuit per seed and extra step, on one colour scale."""
    input:
        spectra="results/{op}/qk_circuit.csv",
        script="scripts/plots/qk_circuit_spectrum.py",
    output:
        expand("results/{{op}}/figures/{figure}{ext}", figure=seed_figures("qk_circuit", SPECTRUM_STEPS),
               ext=(".png", ".pdf")),
    params:
        outdir="results/{op}/figures/qk_circuit",
    log:
        "results/logs/figures/qk_circuit_spectrum/{op}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "python {input.script:q} --spectra {input.spectra:q} --outdir {params.outdir:q} > {log:q} 2>&1"


rule psd_heatmap:
    """W_E's Fourier power per frequency (rows) against step (columns), one figure per seed."""
    input:
        psd="results/{op}/psd.csv",
        script="scripts/plots/psd.py",
    output:
        expand("results/{{op}}/figures/{figure}{ext}", figure=seed_figures("psd"), ext=(".png", ".pdf")),
    params:
        outdir="results/{op}/figures/psd",
    log:
        "results/logs/figures/psd/{op}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "python {input.script:q} --psd {input.psd:q} --outdir {params.outdir:q} > {log:q} 2>&1"


rule fourier_basis_figures:
    """Fourier sparsity (L1/L2) and top-k energy of W_E and W_U, with accuracy."""
    input:
        fourier="results/{op}/fourier_basis.csv",
        metrics="results/{op}/metric.csv",
        script="scripts/plots/fourier_basis.py",
    output:
        sparsity="results/{op}/figures/fourier_sparsity.png",
        sparsity_pdf="results/{op}/figures/fourier_sparsity.pdf",
        energy="results/{op}/figures/fourier_top_k.png",
        energy_pdf="results/{op}/figures/fourier_top_k.pdf",
    log:
        "results/logs/figures/fourier_basis/{op}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "python {input.script:q} --fourier {input.fourier:q} --metrics {input.metrics:q} "
        "--sparsity-output {output.sparsity:q} --energy-output {output.energy:q} > {log:q} 2>&1"


rule intrinsic_dimension_figures:
    """TwoNN dimension of W_E and W_U, and effective rank and entropy of W_QK, with accuracy."""
    input:
        table="results/{op}/intrinsic_dimension.csv",
        metrics="results/{op}/metric.csv",
        script="scripts/plots/intrinsic_dimension.py",
    output:
        dimension="results/{op}/figures/intrinsic_dimension.png",
        dimension_pdf="results/{op}/figures/intrinsic_dimension.pdf",
        qk="results/{op}/figures/qk_effective_rank.png",
        qk_pdf="results/{op}/figures/qk_effective_rank.pdf",
    log:
        "results/logs/figures/intrinsic_dimension/{op}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "python {input.script:q} --id {input.table:q} --metrics {input.metrics:q} "
        "--id-output {output.dimension:q} --qk-output {output.qk:q} > {log:q} 2>&1"


rule agop_figures:
    """AGOP effective rank, and circulant deviation of the Gram matrix and the AGOP, with accuracy."""
    input:
        table="results/{op}/agop_circulant.csv",
        metrics="results/{op}/metric.csv",
        script="scripts/plots/agop_circulant.py",
    output:
        erank="results/{op}/figures/agop_erank.png",
        erank_pdf="results/{op}/figures/agop_erank.pdf",
        circulant="results/{op}/figures/agop_circulant.png",
        circulant_pdf="results/{op}/figures/agop_circulant.pdf",
    log:
        "results/logs/figures/agop_circulant/{op}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "python {input.script:q} --agop {input.table:q} --metrics {input.metrics:q} "
        "--erank-output {output.erank:q} --circulant-output {output.circulant:q} > {log:q} 2>&1"
