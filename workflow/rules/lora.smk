# The LoRA rank study: outputs under results/lora/.
from grokflow.settings import LoraDemoSettings, LoraFinetuneSettings

LORA = config["lora"]
LORA_DIR = "results/lora"
LORA_SOURCE = (
    f"results/{LORA['source_op']}/seed{LORA['source_seed']}/checkpoints/{checkpoint_name(config['steps'])}"
)
LORA_HEATMAP_NAMES = [
    f"heatmaps/{source}_{matrix}" for source in ("gaussian", "grokked") for matrix in ("W0", "delta", "W", "truncated")
]
LORA_FIGURES = png_and_pdf(
    f"{LORA_DIR}/figures/{name}.png"
    for name in ("lora_rank_error", "spectrum", "finetune_accuracy", "finetune_params", *LORA_HEATMAP_NAMES)
)
# The fine-tuning's runs (every rank, then full) one after another, each like a training of one model.
LORA_FINETUNE_ESTIMATE = resources.training(MODEL_SIZES, TRAIN_EXAMPLES, 1,
                                            (len(LORA["rank_candidates"]) + 1) * LORA["steps"], LORA["device"], 1)


rule lora_rank_demo:
    """Seed 003's demo: random LoRA update and best rank-r errors of a Gaussian and a grokked W₀."""
    input:
        unpack(script_with_library("scripts/lora/rank_demo.py")),
        checkpoint=LORA_SOURCE,
    output:
        figure(f"{LORA_DIR}/figures/lora_rank_error", "lora_rank_demo", names=("figure", "figure_pdf")),
        csv=f"{LORA_DIR}/rank_error.csv",
        spectrum=f"{LORA_DIR}/spectrum.csv",
        matrices=f"{LORA_DIR}/matrices.safetensors",
    params:
        options=flags(LoraDemoSettings.from_config(config)),
    log:
        "results/logs/lora/rank_demo.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "python {input.script:q} {params.options} --checkpoint {input.checkpoint:q} --csv {output.csv:q} "
        "--spectrum-csv {output.spectrum:q} --matrices {output.matrices:q} --figure {output.figure:q} > {log:q} 2>&1"


rule lora_matrix_figures:
    """Singular spectra of both W₀ and a heatmap per demo matrix."""
    input:
        unpack(script_with_library("scripts/lora/plot_matrices.py")),
        spectrum=rules.lora_rank_demo.output.spectrum,
        matrices=rules.lora_rank_demo.output.matrices,
    output:
        figure(f"{LORA_DIR}/figures/spectrum", "lora_matrix_figures", names=("spectrum", "spectrum_pdf")),
        heatmaps=[figure(f"{LORA_DIR}/figures/{name}", "lora_matrix_figures") for name in LORA_HEATMAP_NAMES],
    params:
        out=heatmap_folder,
    log:
        "results/logs/lora/matrix_figures.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "python {input.script:q} --spectrum-csv {input.spectrum:q} --spectrum-output {output.spectrum:q} "
        "--matrices {input.matrices:q} --out-dir {params.out:q} > {log:q} 2>&1"


rule lora_finetune:
    """LoRA at every rank and full fine-tuning from the grokked checkpoint to the target op."""
    input:
        unpack(script_with_library("scripts/lora/finetune.py")),
        checkpoint=LORA_SOURCE,
    output:
        f"{LORA_DIR}/finetune.csv",
    params:
        options=flags(LoraFinetuneSettings.from_config(config)),
    log:
        "results/logs/lora/finetune.log",
    benchmark:
        "results/benchmarks/lora_finetune.tsv"
    # A long job: started before the short ones, so that they fill the end of a run.
    priority: 1
    threads: 1
    resources:
        mem_mb=by_attempt(LORA_FINETUNE_ESTIMATE.mem_mb),
        runtime=by_attempt(LORA_FINETUNE_ESTIMATE.minutes),
        gpu=gpus(LORA["device"]),
    retries: RETRIES
    conda:
        ENV
    shell:
        "python {input.script:q} --checkpoint {input.checkpoint:q} {params.options} --output {output:q} > {log:q} 2>&1"


rule lora_finetune_figures:
    """Test accuracy against fine-tuning step per rank, and trainable parameters against final accuracy."""
    input:
        unpack(script_with_library("scripts/lora/plot_finetune.py")),
        finetune=rules.lora_finetune.output,
    output:
        figure(f"{LORA_DIR}/figures/finetune_accuracy", "lora_finetune_figures", names=("accuracy", "accuracy_pdf")),
        figure(f"{LORA_DIR}/figures/finetune_params", "lora_finetune_figures", names=("params", "params_pdf")),
    log:
        "results/logs/lora/finetune_figures.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "python {input.script:q} --finetune {input.finetune:q} --accuracy-output {output.accuracy:q} "
        "--params-output {output.params:q} > {log:q} 2>&1"


rule lora:
    """Every output of the LoRA rank study."""
    input:
        rules.lora_rank_demo.output,
        rules.lora_finetune.output,
        LORA_FIGURES,
