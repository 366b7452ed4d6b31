from grokflow.manifest import manifest_text, write_manifest
from grokflow.settings import EngineSettings


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


rule train:
    """Train one stack of models, by `train.stack_by`: an op's seeds, a seed's ops or every (op,
    seed), as one job of the batched engine on `train.device`. Resumes from its state file
    (kept outside the declared outputs, so that Snakemake's clean-up of a killed job, or of a
    try that ran out of time, does not delete it): a retry continues where the last try stopped."""
    input:
        unpack(script_with_library("scripts/train.py")),
        manifests=stack_manifests,
    output:
        checkpoints=stack_files(CHECKPOINTS),
        metrics=stack_files(f"{RUN_DIR}/metric.csv"),
    params:
        flags=TRAINING_FLAGS,
        ops=stack_ops,
        seeds=stack_seeds,
        template=run_dir_template,
        state=f"results/train_state/{STACK}.pt",
        engine=flags(EngineSettings.from_config(config)),
    log:
        f"results/logs/train/{STACK}.log",
    benchmark:
        f"results/benchmarks/train/{STACK}.tsv"
    threads: config["train"]["threads"]
    resources:
        mem_mb=by_attempt(TRAINING_ESTIMATE.mem_mb),
        runtime=by_attempt(TRAINING_ESTIMATE.minutes),
        gpu=gpus(config["train"]["device"]),
    retries: RETRIES
    conda:
        ENV
    shell:
        "python {input.script:q} --ops {params.ops} --seeds {params.seeds} {params.flags} "
        "--out-template {params.template:q} --state {params.state:q} {params.engine} "
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
