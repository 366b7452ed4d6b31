# Singular learning theory: LLC under the (α, β) rescalings, LLC and λ_eff over training, calibration.
from grokflow.slt.flags import chain_flags, every_kth, method_epsilons, range_flag
from grokflow.slt.methods import METHODS as SLT_METHODS

SLT = config["slt"]
FINAL_CHECKPOINT = f"{RUN_DIR}/checkpoints/{checkpoint_name(SCHEDULE[-1])}"
TRAINING_STEPS = every_kth(SCHEDULE, SLT["checkpoint_every"])
CALIBRATION_OP = OPS[0]


# Every SLT figure (PNG) of each op; each has a PDF beside it. The calibration is the first op's.
SLT_OP_FIGURES = {
    op: [
        f"results/{op}/figures/{name}.png"
        for name in [
            "llc",
            "flatness_slt",
            *(f"llc_rescaling/{method}" for method in SLT_METHODS),
            *(f"llc_traces/{method}" for method in SLT_METHODS),
            *(f"llc_calibration/{method}" for method in SLT_METHODS if op == CALIBRATION_OP),
        ]
    ]
    for op in OPS
}
SLT_FIGURES = [
    "results/figures/llc_rescaling_cv.png",
    *(figure for op in OPS for figure in SLT_OP_FIGURES[op]),
]
SLT_FIGURE_FILES = [figure.replace(".png", ext) for figure in SLT_FIGURES for ext in (".png", ".pdf")]
SLT_CSVS = [
    *expand("results/{op}/llc_rescaling/{method}.csv", op=OPS, method=SLT_METHODS),
    *expand("results/{op}/{table}.csv", op=OPS, table=["llc", "flatness_slt", "llc_traces"]),
    f"results/{CALIBRATION_OP}/llc_calibration.csv",
    "results/llc_rescaling_summary.csv",
]


rule llc_rescaling:
    """LLC of every op's final checkpoint (first seed) over the α × β grid, every sampler: one job,
    so that each sampler's compiled step (slt.compile) is built once for all the ops."""
    input:
        checkpoints=expand(FINAL_CHECKPOINT, op=OPS, seed=SEEDS[0]),
        script="scripts/slt/llc_rescaling.py",
    output:
        tables=expand("results/{op}/llc_rescaling/{method}.csv", op=OPS, method=SLT_METHODS),
        traces=expand("results/{op}/llc_traces.csv", op=OPS),
    params:
        outdirs=expand("results/{op}/llc_rescaling", op=OPS),
        grid=(
            f"{range_flag('alpha-range', SLT['rescaling']['alpha_range'])} "
            f"{range_flag('beta-range', SLT['rescaling']['beta_range'])} --grid {SLT['rescaling']['grid']}"
        ),
        flags=f"--epsilon {method_epsilons(SLT)} --nbeta {SLT['nbeta']} {chain_flags(SLT)}",
    log:
        "results/logs/llc_rescaling.log",
    threads: SLT["threads"]
    resources:
        mem_mb=8000,
        runtime=60 * len(OPS),
        gpu=gpus(SLT["device"]),
    conda:
        ENV
    shell:
        "python {input.script:q} --checkpoints {input.checkpoints:q} --outdirs {params.outdirs:q} "
        "--traces {output.traces:q} {params.grid} {params.flags} > {log:q} 2>&1"


rule llc_over_training:
    """SGLD LLC and λ_eff (thermodynamic integration) at every checkpoint_every-th checkpoint of
    every seed of an op, from one batch of chains at the config's temperatures."""
    input:
        checkpoints=checkpoints_at(TRAINING_STEPS),
        script="scripts/slt/llc_over_training.py",
    output:
        llc="results/{op}/llc.csv",
        flatness="results/{op}/flatness_slt.csv",
    params:
        flags=(
            f"--temperatures {' '.join(str(t) for t in SLT['temperatures'])} "
            f"--epsilon {SLT['epsilon']['sgld']} --nbeta {SLT['nbeta']} {chain_flags(SLT)}"
        ),
    log:
        "results/logs/llc_over_training/{op}.log",
    threads: SLT["threads"]
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=gpus(SLT["device"]),
    conda:
        ENV
    shell:
        "python {input.script:q} {input.checkpoints:q} --llc-output {output.llc:q} "
        "--flatness-output {output.flatness:q} {params.flags} > {log:q} 2>&1"


rule llc_calibration:
    """LLC of the final checkpoint (first seed) for every sampler over ε and nβ."""
    input:
        checkpoint=FINAL_CHECKPOINT.replace("{seed}", str(SEEDS[0])),
        script="scripts/slt/llc_calibration.py",
    output:
        "results/{op}/llc_calibration.csv",
    params:
        flags=(
            f"{range_flag('epsilon-range', SLT['calibration']['epsilon_range'])} "
            f"--epsilon-count {SLT['calibration']['epsilon_count']} "
            f"--nbetas {' '.join(str(b) for b in SLT['calibration']['nbetas'])} {chain_flags(SLT)}"
        ),
    log:
        "results/logs/llc_calibration/{op}.log",
    threads: SLT["threads"]
    resources:
        mem_mb=8000,
        runtime=60,
        gpu=gpus(SLT["device"]),
    conda:
        ENV
    shell:
        "python {input.script:q} --checkpoint {input.checkpoint:q} --output {output:q} {params.flags} > {log:q} 2>&1"


rule llc_rescaling_summary:
    """Each sampler's coefficient of variation of the LLC over the rescaling grid, every op."""
    input:
        tables=expand("results/{op}/llc_rescaling/{method}.csv", op=OPS, method=SLT_METHODS),
        script="scripts/slt/llc_rescaling_summary.py",
    output:
        "results/llc_rescaling_summary.csv",
    params:
        ops=" ".join(shlex.quote(op) for op in OPS),
        methods=" ".join(SLT_METHODS),
    log:
        "results/logs/llc_rescaling_summary.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        ENV
    shell:
        "python {input.script:q} --ops {params.ops} --methods {params.methods} --tables {input.tables:q} "
        "--output {output:q} > {log:q} 2>&1"


rule llc_rescaling_figures:
    """Heatmaps of the LLC over the rescaling grid, one colour scale shared by the op's samplers."""
    input:
        tables=expand("results/{{op}}/llc_rescaling/{method}.csv", method=SLT_METHODS),
        script="scripts/plots/llc_rescaling.py",
    output:
        expand("results/{{op}}/figures/llc_rescaling/{method}{ext}", method=SLT_METHODS, ext=(".png", ".pdf")),
    params:
        outdir="results/{op}/figures/llc_rescaling",
    log:
        "results/logs/figures/llc_rescaling/{op}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "python {input.script:q} --tables {input.tables:q} --outdir {params.outdir:q} > {log:q} 2>&1"


rule llc_trace_figures:
    """Per-chain loss traces of every sampler at the unscaled point."""
    input:
        traces="results/{op}/llc_traces.csv",
        script="scripts/plots/llc_traces.py",
    output:
        expand("results/{{op}}/figures/llc_traces/{method}{ext}", method=SLT_METHODS, ext=(".png", ".pdf")),
    params:
        outdir="results/{op}/figures/llc_traces",
    log:
        "results/logs/figures/llc_traces/{op}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "python {input.script:q} --traces {input.traces:q} --outdir {params.outdir:q} > {log:q} 2>&1"


rule slt_against_step_figures:
    """The SGLD LLC and λ_eff against step with accuracy on a twin axis."""
    input:
        llc="results/{op}/llc.csv",
        flatness="results/{op}/flatness_slt.csv",
        metrics="results/{op}/metric.csv",
        script="scripts/plots/slt_against_step.py",
    output:
        llc="results/{op}/figures/llc.png",
        llc_pdf="results/{op}/figures/llc.pdf",
        flatness="results/{op}/figures/flatness_slt.png",
        flatness_pdf="results/{op}/figures/flatness_slt.pdf",
    log:
        "results/logs/figures/slt_against_step/{op}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "python {input.script:q} --llc {input.llc:q} --flatness {input.flatness:q} --metrics {input.metrics:q} "
        "--llc-output {output.llc:q} --flatness-output {output.flatness:q} > {log:q} 2>&1"


rule llc_calibration_figures:
    """LLC against ε for each nβ, one figure per sampler, the configured ε marked."""
    input:
        calibration="results/{op}/llc_calibration.csv",
        script="scripts/plots/llc_calibration.py",
    output:
        expand("results/{{op}}/figures/llc_calibration/{method}{ext}", method=SLT_METHODS, ext=(".png", ".pdf")),
    params:
        outdir="results/{op}/figures/llc_calibration",
        chosen=method_epsilons(SLT),
    log:
        "results/logs/figures/llc_calibration/{op}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "python {input.script:q} --calibration {input.calibration:q} --chosen {params.chosen} "
        "--outdir {params.outdir:q} > {log:q} 2>&1"


rule llc_rescaling_cv_figure:
    """Coefficient of variation of each sampler's LLC over the rescaling grid, per op."""
    input:
        summary="results/llc_rescaling_summary.csv",
        script="scripts/plots/llc_rescaling_cv.py",
    output:
        png="results/figures/llc_rescaling_cv.png",
        pdf="results/figures/llc_rescaling_cv.pdf",
    log:
        "results/logs/figures/llc_rescaling_cv.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "python {input.script:q} --summary {input.summary:q} --output {output.png:q} > {log:q} 2>&1"


rule slt:
    """Singular learning theory: the rescaling study, LLC and λ_eff over training, the calibration."""
    input:
        SLT_CSVS,
        SLT_FIGURE_FILES,
