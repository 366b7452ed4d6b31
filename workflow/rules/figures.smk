rule training_curves:
    """Accuracy and loss against step (the grokking curves) of one op."""
    input:
        unpack(script_with_library("scripts/plots/training_curves.py")),
        metrics="results/{op}/metric.csv",
    output:
        figure("results/{op}/figures/accuracy", "training_curves", names=("accuracy", "accuracy_pdf")),
        figure("results/{op}/figures/loss", "training_curves", names=("loss", "loss_pdf")),
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
        unpack(script_with_library("scripts/plots/effective_rank.py")),
        erank="results/{op}/effective_rank.csv",
        metrics="results/{op}/metric.csv",
    output:
        [figure(f"results/{{op}}/figures/effective_rank/{matrix}", "plot_effective_rank") for matrix in MATRICES],
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
        unpack(script_with_library("scripts/plots/{figure}.py")),
        table="results/{op}/{figure}.csv",
        metrics="results/{op}/metric.csv",
    output:
        figure("results/{op}/figures/{figure}", "metric_figure", names=("png", "pdf")),
    wildcard_constraints:
        figure="|".join(AGAINST_STEP),
    params:
        caption=figure_caption,
    log:
        "results/logs/figures/{figure}/{op}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "python {input.script:q} --table {input.table:q} --metrics {input.metrics:q} "
        "--output {output.png:q} > {log:q} 2>&1"


rule qk_circuit_spectrum:
    """One 2-D spectrum heatmap of the layer-0 QK circuit per seed and extra step, on one colour scale."""
    input:
        unpack(script_with_library("scripts/plots/qk_circuit_spectrum.py")),
        spectra="results/{op}/qk_circuit.csv",
    output:
        [
            figure(f"results/{{op}}/figures/{name}", "qk_circuit_spectrum")
            for name in seed_figures("qk_circuit", SPECTRUM_STEPS)
        ],
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
        unpack(script_with_library("scripts/plots/psd.py")),
        psd="results/{op}/psd.csv",
    output:
        [figure(f"results/{{op}}/figures/{name}", "psd_heatmap") for name in seed_figures("psd")],
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
        unpack(script_with_library("scripts/plots/fourier_basis.py")),
        fourier="results/{op}/fourier_basis.csv",
        metrics="results/{op}/metric.csv",
    output:
        figure("results/{op}/figures/fourier_sparsity", "fourier_basis_figures", names=("sparsity", "sparsity_pdf")),
        figure("results/{op}/figures/fourier_top_k", "fourier_basis_figures", names=("energy", "energy_pdf")),
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
        unpack(script_with_library("scripts/plots/intrinsic_dimension.py")),
        table="results/{op}/intrinsic_dimension.csv",
        metrics="results/{op}/metric.csv",
    output:
        figure("results/{op}/figures/intrinsic_dimension", "intrinsic_dimension_figures",
               names=("dimension", "dimension_pdf")),
        figure("results/{op}/figures/qk_effective_rank", "intrinsic_dimension_figures", names=("qk", "qk_pdf")),
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
        unpack(script_with_library("scripts/plots/agop_circulant.py")),
        table="results/{op}/agop_circulant.csv",
        metrics="results/{op}/metric.csv",
    output:
        figure("results/{op}/figures/agop_erank", "agop_figures", names=("erank", "erank_pdf")),
        figure("results/{op}/figures/agop_circulant", "agop_figures", names=("circulant", "circulant_pdf")),
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
