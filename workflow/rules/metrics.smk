rule checkpoint_metric:
    """One metric of every checkpoint of every seed of an op, batched in one process."""
    input:
        unpack(script_with_library("scripts/metrics/{metric}.py")),
        checkpoints=checkpoints_at(SCHEDULE),
    output:
        "results/{op}/{metric}.csv",
    wildcard_constraints:
        metric="|".join(CHECKPOINT_METRICS),
    params:
        options=metric_options,
    log:
        "results/logs/{metric}/{op}.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    shell:
        "python {input.script:q} {input.checkpoints:q} {params.options} --output {output:q} > {log:q} 2>&1"


rule qk_circuit:
    """2-D Fourier spectrum over the op's group of layer 0's W_E W_Q W_Kᵀ W_Eᵀ at the config's extra steps."""
    input:
        unpack(script_with_library("scripts/metrics/qk_circuit.py")),
        checkpoints=checkpoints_at(SPECTRUM_STEPS),
    output:
        "results/{op}/qk_circuit.csv",
    params:
        options=METRIC_OPTIONS["qk_circuit"],
    log:
        "results/logs/qk_circuit/{op}.log",
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        ENV
    shell:
        "python {input.script:q} {input.checkpoints:q} {params.options} --output {output:q} > {log:q} 2>&1"


rule agop_circulant:
    """Input-gradient AGOP and circulant scores of W_E's Gram matrix and of the pulled-back AGOP."""
    input:
        unpack(script_with_library("scripts/metrics/agop_circulant.py")),
        checkpoints=checkpoints_at(SCHEDULE),
        metrics="results/{op}/metric.csv",
    output:
        "results/{op}/agop_circulant.csv",
    params:
        options=METRIC_OPTIONS["agop_circulant"],
    log:
        "results/logs/agop_circulant/{op}.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    shell:
        "python {input.script:q} {input.checkpoints:q} --metrics {input.metrics:q} {params.options} "
        "--output {output:q} > {log:q} 2>&1"


rule circuit_competition:
    """Share of W_E's and W_U's norm in each seed's key-frequency Fourier subspace and the memorisation subspace."""
    input:
        unpack(script_with_library("scripts/metrics/circuit_competition.py")),
        checkpoints=checkpoints_at(SCHEDULE),
        key_frequencies="results/{op}/key_frequencies.csv",
    output:
        "results/{op}/circuit_competition.csv",
    params:
        options=METRIC_OPTIONS["circuit_competition"],
    log:
        "results/logs/circuit_competition/{op}.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    shell:
        "python {input.script:q} {input.checkpoints:q} --key-frequencies {input.key_frequencies:q} "
        "{params.options} --output {output:q} > {log:q} 2>&1"


rule key_frequencies:
    """Each seed's frequencies that carry most of its W_E's Fourier power at the end of training."""
    input:
        unpack(script_with_library("scripts/metrics/key_frequencies.py")),
        checkpoints=checkpoints_at(SCHEDULE[-1:]),
    output:
        "results/{op}/key_frequencies.csv",
    params:
        options=METRIC_OPTIONS["key_frequencies"],
    log:
        "results/logs/key_frequencies/{op}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENV
    shell:
        "python {input.script:q} {input.checkpoints:q} {params.options} --output {output:q} > {log:q} 2>&1"


rule progress_measures:
    """Restricted and excluded loss (Nanda et al. 2023) of every checkpoint, from each seed's key frequencies."""
    input:
        unpack(script_with_library("scripts/metrics/progress_measures.py")),
        checkpoints=checkpoints_at(SCHEDULE),
        key_frequencies="results/{op}/key_frequencies.csv",
    output:
        "results/{op}/progress_measures.csv",
    params:
        options=METRIC_OPTIONS["progress_measures"],
    log:
        "results/logs/progress_measures/{op}.log",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        ENV
    shell:
        "python {input.script:q} {input.checkpoints:q} --key-frequencies {input.key_frequencies:q} "
        "{params.options} --output {output:q} > {log:q} 2>&1"
