# Singular learning theory: LLC under the (α, β) rescalings, LLC and λ_eff over training, calibration.
from grokflow.schedule import every_kth
from grokflow.settings import CalibrationFigureSettings, CalibrationSettings, OverTrainingSettings, RescalingSettings
from grokflow.slt.methods import METHODS as SLT_METHODS, VARIANTS as SLT_VARIANTS

SLT = config["slt"]
FINAL_CHECKPOINT = f"{RUN_DIR}/checkpoints/{checkpoint_name(SCHEDULE[-1])}"
TRAINING_STEPS = every_kth(SCHEDULE, SLT["checkpoint_every"])
CALIBRATION_OP = OPS[0]
# Time and memory limits of the chain jobs from their sizes (common.smk's chain_estimate); each job
# compiles each of its samplers once.
SAMPLERS_COMPILED = len(SLT_METHODS) if SLT["compile"] else 0
RESCALING_POINTS = len(OPS) * len(SLT_VARIANTS) * len(SLT_METHODS) * SLT["rescaling"]["grid"] ** 2
CALIBRATION_POINTS = len(SLT_METHODS) * SLT["calibration"]["epsilon_count"] * (
    len({*SLT["calibration"]["nbetas"], SLT["nbeta"]}) + 2)  # and γ/10, 10γ at the study's nβ
OVER_TRAINING_CHECKPOINTS = len(SEEDS) * len(TRAINING_STEPS)
RESCALING_ESTIMATE = chain_estimate(RESCALING_POINTS, SLT["rescaling"]["grid"] ** 2, SAMPLERS_COMPILED,
                                    len(OPS) * len(SLT_METHODS), len(OPS))
OVER_TRAINING_ESTIMATE = chain_estimate(OVER_TRAINING_CHECKPOINTS * len(SLT["temperatures"]),
                                        OVER_TRAINING_CHECKPOINTS * len(SLT["temperatures"]), int(SLT["compile"]), 0,
                                        OVER_TRAINING_CHECKPOINTS)
CALIBRATION_ESTIMATE = chain_estimate(CALIBRATION_POINTS, CALIBRATION_POINTS // len(SLT_METHODS), SAMPLERS_COMPILED,
                                      0, 1)


# Every SLT figure (PNG) of each op; each has a PDF beside it. The calibration is the first op's.
SLT_OP_FIGURES = {
    op: [
        f"results/{op}/figures/{name}.png"
        for name in [
            "llc",
            "flatness_slt",
            *(f"llc_rescaling/{variant}/{method}" for variant in SLT_VARIANTS for method in SLT_METHODS),
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
SLT_FIGURE_FILES = png_and_pdf(SLT_FIGURES)
SLT_CSVS = [
    *expand("results/{op}/llc_rescaling/{variant}/{method}.csv", op=OPS, variant=SLT_VARIANTS, method=SLT_METHODS),
    *expand("results/{op}/{table}.csv", op=OPS, table=["llc", "flatness_slt", "llc_traces"]),
    f"results/{CALIBRATION_OP}/llc_calibration.csv",
    f"results/{CALIBRATION_OP}/llc_calibration_criteria.csv",
    "results/llc_rescaling_summary.csv",
]


rule llc_rescaling:
    """LLC of every op's final checkpoint (first seed) over the α × β grid, every sampler, both
    localisation variants (fixed γ, γ/s²), and each sampler's diagnosed traces at α = β = 1: one
    job, so that each sampler's compiled step (slt.compile) is built once for all the ops."""
    input:
        unpack(script_with_library("scripts/slt/llc_rescaling.py")),
        checkpoints=expand(FINAL_CHECKPOINT, op=OPS, seed=SEEDS[0]),
    output:
        tables=expand("results/{op}/llc_rescaling/{variant}/{method}.csv", op=OPS, variant=SLT_VARIANTS,
                      method=SLT_METHODS),
        traces=expand("results/{op}/llc_traces.csv", op=OPS),
    params:
        outdirs=expand("results/{op}/llc_rescaling", op=OPS),
        flags=flags(RescalingSettings.from_config(config)),
    log:
        "results/logs/llc_rescaling.log",
    benchmark:
        "results/benchmarks/llc_rescaling.tsv"
    threads: SLT["threads"]
    resources:
        mem_mb=by_attempt(RESCALING_ESTIMATE.mem_mb),
        runtime=by_attempt(RESCALING_ESTIMATE.minutes),
        gpu=gpus(SLT["device"]),
    retries: RETRIES
    conda:
        ENV
    shell:
        "python {input.script:q} --checkpoints {input.checkpoints:q} --outdirs {params.outdirs:q} "
        "--traces {output.traces:q} {params.flags} > {log:q} 2>&1"


rule llc_over_training:
    """SGLD LLC and λ_eff (thermodynamic integration) at every checkpoint_every-th checkpoint of
    every seed of an op, from one batch of chains at the config's temperatures."""
    input:
        unpack(script_with_library("scripts/slt/llc_over_training.py")),
        checkpoints=checkpoints_at(TRAINING_STEPS),
    output:
        llc="results/{op}/llc.csv",
        flatness="results/{op}/flatness_slt.csv",
    params:
        flags=flags(OverTrainingSettings.from_config(config)),
    log:
        "results/logs/llc_over_training/{op}.log",
    benchmark:
        "results/benchmarks/llc_over_training/{op}.tsv"
    threads: SLT["threads"]
    resources:
        mem_mb=by_attempt(OVER_TRAINING_ESTIMATE.mem_mb),
        runtime=by_attempt(OVER_TRAINING_ESTIMATE.minutes),
        gpu=gpus(SLT["device"]),
    retries: RETRIES
    conda:
        ENV
    shell:
        "python {input.script:q} {input.checkpoints:q} --llc-output {output.llc:q} "
        "--flatness-output {output.flatness:q} {params.flags} > {log:q} 2>&1"


rule llc_calibration:
    """LLC and chain diagnostics of the final checkpoint (first seed) for every sampler over ε, nβ
    and γ/10, γ, 10γ; and the ε of each sampler that meet the criteria."""
    input:
        unpack(script_with_library("scripts/slt/llc_calibration.py")),
        checkpoint=FINAL_CHECKPOINT.replace("{seed}", str(SEEDS[0])),
    output:
        table="results/{op}/llc_calibration.csv",
        criteria="results/{op}/llc_calibration_criteria.csv",
    params:
        flags=flags(CalibrationSettings.from_config(config)),
    log:
        "results/logs/llc_calibration/{op}.log",
    benchmark:
        "results/benchmarks/llc_calibration/{op}.tsv"
    threads: SLT["threads"]
    resources:
        mem_mb=by_attempt(CALIBRATION_ESTIMATE.mem_mb),
        runtime=by_attempt(CALIBRATION_ESTIMATE.minutes),
        gpu=gpus(SLT["device"]),
    retries: RETRIES
    conda:
        ENV
    shell:
        "python {input.script:q} --checkpoint {input.checkpoint:q} --output {output.table:q} "
        "--criteria {output.criteria:q} {params.flags} > {log:q} 2>&1"


rule llc_rescaling_summary:
    """Each sampler's coefficient of variation of the LLC over the rescaling grid, every op and
    variant, over the points where every sampler stayed finite."""
    input:
        unpack(script_with_library("scripts/slt/llc_rescaling_summary.py")),
        tables=expand("results/{op}/llc_rescaling/{variant}/{method}.csv", op=OPS, variant=SLT_VARIANTS,
                      method=SLT_METHODS),
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
    """Heatmaps of the LLC over the rescaling grid, one log colour scale per sampler and variant."""
    input:
        unpack(script_with_library("scripts/plots/llc_rescaling.py")),
        tables=expand("results/{{op}}/llc_rescaling/{{variant}}/{method}.csv", method=SLT_METHODS),
    output:
        [
            figure(f"results/{{op}}/figures/llc_rescaling/{{variant}}/{method}", "llc_rescaling_figures")
            for method in SLT_METHODS
        ],
    params:
        outdir="results/{op}/figures/llc_rescaling/{variant}",
    log:
        "results/logs/figures/llc_rescaling/{op}/{variant}.log",
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
        unpack(script_with_library("scripts/plots/llc_traces.py")),
        traces="results/{op}/llc_traces.csv",
    output:
        [figure(f"results/{{op}}/figures/llc_traces/{method}", "llc_trace_figures") for method in SLT_METHODS],
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
        unpack(script_with_library("scripts/plots/slt_against_step.py")),
        llc="results/{op}/llc.csv",
        flatness="results/{op}/flatness_slt.csv",
        metrics="results/{op}/metric.csv",
    output:
        figure("results/{op}/figures/llc", "slt_against_step_figures", names=("llc", "llc_pdf")),
        figure("results/{op}/figures/flatness_slt", "slt_against_step_figures", names=("flatness", "flatness_pdf")),
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
    """LLC against ε for each nβ and for γ/10, 10γ, with the MALA acceptance, one figure per sampler;
    the ε that meet the criteria and the configured ε marked."""
    input:
        unpack(script_with_library("scripts/plots/llc_calibration.py")),
        calibration="results/{op}/llc_calibration.csv",
        criteria="results/{op}/llc_calibration_criteria.csv",
    output:
        [
            figure(f"results/{{op}}/figures/llc_calibration/{method}", "llc_calibration_figures")
            for method in SLT_METHODS
        ],
    params:
        outdir="results/{op}/figures/llc_calibration",
        flags=flags(CalibrationFigureSettings.from_config(config)),
    log:
        "results/logs/figures/llc_calibration/{op}.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "python {input.script:q} --calibration {input.calibration:q} --criteria {input.criteria:q} "
        "{params.flags} --outdir {params.outdir:q} > {log:q} 2>&1"


rule llc_rescaling_cv_figure:
    """Coefficient of variation of each sampler's LLC over the rescaling grid, per op."""
    input:
        unpack(script_with_library("scripts/plots/llc_rescaling_cv.py")),
        summary="results/llc_rescaling_summary.csv",
    output:
        figure("results/figures/llc_rescaling_cv", "llc_rescaling_cv_figure", names=("png", "pdf")),
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
