from grokflow.manifest import manifest_text, write_manifest
from grokflow.settings import GpuEngineSettings


rule training_manifest:
    """The training configuration of an op, which its training job reads. Snakemake reruns this job
    when the configuration changes (its params), and with it the training and everything that reads
    it, whatever the target: a training job is not otherwise replanned for a target that needs only
    outputs of it that exist (a metric.csv), since its new checkpoints have no metadata to compare."""
    output:
        TRAINING_MANIFEST,
    params:
        manifest=manifest_text(TRAINING),
    log:
        "results/logs/training_manifest/{op}.log",
    localrule: True
    run:
        write_manifest(output[0], params.manifest)
        Path(log[0]).write_text(f"wrote {output[0]}\n")


if config["train"]["device"] == "cpu":

    rule train:
        """Train one op's seeds as one stack of models (on one CPU thread a stack of two takes
        about three quarters of the time of two single runs). Resumes from results/{op}/train_state.pt
        (kept outside the declared outputs, so that Snakemake's clean-up of an interrupted job does
        not delete it)."""
        input:
            unpack(script_with_library("scripts/train.py")),
            manifest=TRAINING_MANIFEST,
        output:
            checkpoints=expand(CHECKPOINTS, seed=SEEDS, allow_missing=True),
            metrics=expand(f"{RUN_DIR}/metric.csv", seed=SEEDS, allow_missing=True),
        params:
            flags=TRAINING_FLAGS,
            seeds=" ".join(str(seed) for seed in SEEDS),
            template=run_dir_template,
        log:
            "results/logs/train/{op}.log",
        threads: config["train"]["threads"]
        resources:
            mem_mb=2000,
            runtime=train_runtime_minutes(len(SEEDS)),
        conda:
            ENV
        shell:
            "python {input.script:q} --ops {wildcards.op:q} --seeds {params.seeds} {params.flags} "
            "--out-template {params.template:q} --state results/{wildcards.op:q}/train_state.pt "
            "--threads {threads} > {log:q} 2>&1"

else:

    rule train_stack:
        """Train every (op, seed) as one stack of models in one job on `train.device` (the GPU
        engine); the same outputs as the per-run `train` rule. Resumes from results/train_state.pt."""
        input:
            unpack(script_with_library("scripts/train.py")),
            manifests=expand(TRAINING_MANIFEST, op=OPS),
        output:
            checkpoints=expand(CHECKPOINTS, op=OPS, seed=SEEDS),
            metrics=expand(f"{RUN_DIR}/metric.csv", op=OPS, seed=SEEDS),
        params:
            flags=TRAINING_FLAGS,
            ops=" ".join(shlex.quote(op) for op in OPS),
            seeds=" ".join(str(seed) for seed in SEEDS),
            template=run_dir_template,
            engine=flags(GpuEngineSettings.from_config(config)),
        log:
            "results/logs/train/stack.log",
        threads: config["train"]["threads"]
        resources:
            mem_mb=16000,
            runtime=train_runtime_minutes(),
            gpu=1,
        conda:
            ENV
        shell:
            "python {input.script:q} --ops {params.ops} --seeds {params.seeds} {params.flags} "
            "--out-template {params.template:q} --state results/train_state.pt {params.engine} "
            "--threads {threads} > {log:q} 2>&1"


rule metric_table:
    """All seeds' metric.csv of one op in one table."""
    input:
        unpack(script_with_library("scripts/combine_metrics.py")),
        csvs=seed_metric_csvs,
    output:
        "results/{op}/metric.csv",
    log:
        "results/logs/metric_table/{op}.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        ENV
    shell:
        "python {input.script:q} {input.csvs:q} --output {output:q} > {log:q} 2>&1"


rule grokking_summary:
    """Memorisation and grokking step of every op and seed, in one table."""
    input:
        unpack(script_with_library("scripts/grokking_summary.py")),
        metrics=expand("results/{op}/metric.csv", op=OPS),
    output:
        "results/grokking_summary.csv",
    params:
        ops=" ".join(shlex.quote(op) for op in OPS),
    log:
        "results/logs/grokking_summary.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        ENV
    shell:
        "python {input.script:q} --metrics {input.metrics:q} --ops {params.ops} --output {output:q} > {log:q} 2>&1"
