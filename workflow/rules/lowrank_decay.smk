# The low-rank decay study: outputs under results/lowrank_decay/.
from grokflow.settings import MechanismSettings, ModulusSettings, PhaseDiagramSettings

LRD = config["lowrank_decay"]
LRD_DIR = "results/lowrank_decay"
LRD_FIGURE_NAMES = ["phase_l2", "phase_lowrank", "phase_difference", "mechanism_accuracy",
                    "mechanism_stable_rank", "mechanism_spectrum", "mechanism_attention_l2",
                    "mechanism_attention_lowrank"]
LRD_FIGURES = png_and_pdf(f"{LRD_DIR}/figures/{name}.png" for name in LRD_FIGURE_NAMES)
LRD_PHASE = PhaseDiagramSettings.from_config(config)
# Each phase-diagram job trains every (method, strength, seed) of one train fraction as one stack.
LRD_SIZES = resources.Transformer(config["modulus"], LRD["model"]["d_model"], LRD["model"]["d_mlp"],
                                  LRD["model"]["n_layers"])
LRD_PHASE_ESTIMATE = resources.training(
    LRD_SIZES, round(max(LRD["fractions"]) * config["modulus"] ** 2),
    2 * len(LRD["strengths"]) * len(LRD["seeds"]), LRD["steps"], LRD["device"], LRD["threads"])
LRD_MECHANISM_ESTIMATE = resources.training(
    LRD_SIZES, round(LRD["mechanism"]["train_fraction"] * config["modulus"] ** 2), 2, LRD["mechanism"]["steps"],
    LRD["device"], LRD["threads"])


rule lowrank_decay_phase_fraction:
    """Every (method, strength, seed) of one train fraction, as one stack of models."""
    input:
        unpack(script_with_library("scripts/lowrank_decay/phase_diagram.py")),
    output:
        summary=f"{LRD_DIR}/phase/fraction{{fraction}}.csv",
        curves=f"{LRD_DIR}/phase/fraction{{fraction}}_curves.csv",
    wildcard_constraints:
        fraction=r"[0-9.]+",
    params:
        options=phase_fraction_flags,
    log:
        "results/logs/lowrank_decay/phase_fraction{fraction}.log",
    benchmark:
        "results/benchmarks/lowrank_decay/phase_fraction{fraction}.tsv"
    # A long job: started before the short ones, so that they fill the end of a run.
    priority: 1
    threads: LRD["threads"]
    resources:
        mem_mb=by_attempt(LRD_PHASE_ESTIMATE.mem_mb),
        runtime=by_attempt(LRD_PHASE_ESTIMATE.minutes),
        gpu=gpus(LRD["device"]),
    retries: RETRIES
    conda:
        ENV
    shell:
        "python {input.script:q} {params.options} --summary {output.summary:q} --curves {output.curves:q} "
        "> {log:q} 2>&1"


rule lowrank_decay_phase_diagram:
    """The phase diagram's runs of every fraction in one table (and their measurements in another)."""
    input:
        unpack(script_with_library("scripts/combine_metrics.py")),
        summaries=expand(f"{LRD_DIR}/phase/fraction{{fraction}}.csv", fraction=LRD["fractions"]),
        curves=expand(f"{LRD_DIR}/phase/fraction{{fraction}}_curves.csv", fraction=LRD["fractions"]),
    output:
        summary=f"{LRD_DIR}/phase_diagram.csv",
        curves=f"{LRD_DIR}/phase_curves.csv",
    params:
        order="method train_fraction strength seed",
    log:
        "results/logs/lowrank_decay/phase_diagram.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        ENV
    shell:
        "(python {input.script:q} {input.summaries:q} --sort-by {params.order} --output {output.summary:q} && "
        "python {input.script:q} {input.curves:q} --sort-by {params.order} step --output {output.curves:q}) > {log:q} 2>&1"


rule lowrank_decay_mechanism:
    """One L2 and one low-rank run, measured over training, with their spectra and attention."""
    input:
        unpack(script_with_library("scripts/lowrank_decay/mechanism.py")),
    output:
        curves=f"{LRD_DIR}/mechanism.csv",
        spectrum=f"{LRD_DIR}/mechanism_spectrum.csv",
        attention=f"{LRD_DIR}/mechanism_attention.csv",
    params:
        options=flags(MechanismSettings.from_config(config)),
    log:
        "results/logs/lowrank_decay/mechanism.log",
    benchmark:
        "results/benchmarks/lowrank_decay/mechanism.tsv"
    # A long job: started before the short ones, so that they fill the end of a run.
    priority: 1
    threads: LRD["threads"]
    resources:
        mem_mb=by_attempt(LRD_MECHANISM_ESTIMATE.mem_mb),
        runtime=by_attempt(LRD_MECHANISM_ESTIMATE.minutes),
        gpu=gpus(LRD["device"]),
    retries: RETRIES
    conda:
        ENV
    shell:
        "python {input.script:q} {params.options} --curves {output.curves:q} "
        "--spectrum {output.spectrum:q} --attention {output.attention:q} > {log:q} 2>&1"


rule lowrank_decay_figures:
    """The three phase-diagram heatmaps and the mechanism figures, one per file."""
    input:
        unpack(script_with_library("scripts/lowrank_decay/plots.py")),
        summary=rules.lowrank_decay_phase_diagram.output.summary,
        curves=rules.lowrank_decay_mechanism.output.curves,
        spectrum=rules.lowrank_decay_mechanism.output.spectrum,
        attention=rules.lowrank_decay_mechanism.output.attention,
    output:
        [figure(f"{LRD_DIR}/figures/{name}", "lowrank_decay_figures") for name in LRD_FIGURE_NAMES],
    params:
        figures=output_folder,
        modulus=flags(ModulusSettings.from_config(config)),
    log:
        "results/logs/lowrank_decay/figures.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "python {input.script:q} --summary {input.summary:q} --curves {input.curves:q} "
        "--spectrum {input.spectrum:q} --attention {input.attention:q} "
        "--l2-output {params.figures}/phase_l2.png --lowrank-output {params.figures}/phase_lowrank.png "
        "--difference-output {params.figures}/phase_difference.png "
        "--accuracy-output {params.figures}/mechanism_accuracy.png "
        "--stable-rank-output {params.figures}/mechanism_stable_rank.png "
        "--spectrum-output {params.figures}/mechanism_spectrum.png "
        "--attention-prefix {params.figures}/mechanism_attention {params.modulus} > {log:q} 2>&1"


rule lowrank_decay:
    """Every output of the low-rank decay study."""
    input:
        rules.lowrank_decay_phase_diagram.output,
        rules.lowrank_decay_mechanism.output,
        LRD_FIGURES,
