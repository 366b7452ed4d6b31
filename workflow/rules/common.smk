# Included first by the Snakefile: config validation, the checkpoint schedule, paths, input
# functions, the figures' report entries and the check of the checkpoints before a run. Parsing
# imports no torch (tests/test_snakefile.py).
from dataclasses import replace
import math
import os
from pathlib import Path
import shlex
import sys

from grokflow import resources
from grokflow.catalogue import (BY_NAME, METRICS, REPORT_STUDIES, SUMMARY_TABLES, against_step,
                                every_checkpoint)
from grokflow.config import ConfigError, schedule, validate_config
from grokflow.import_graph import library_files
from grokflow.manifest import first_broken_checkpoint
from grokflow.metrics.matrix_names import MATRICES
from grokflow.schedule import checkpoint_name
from grokflow.settings import TrainingSettings, flags


try:
    validate_config(config, workflow.source_path("../schemas/config.schema.yaml"))
except ConfigError as err:
    sys.exit(f"error: {err}")


OPS = config["ops"]
SEEDS = config["seeds"]
SCHEDULE = schedule(config)
RUN_DIR = "results/{op}/seed{seed}"
CHECKPOINTS = [f"{RUN_DIR}/checkpoints/{checkpoint_name(step)}" for step in SCHEDULE]
TRAINING_MANIFEST = "results/{op}/training.json"  # the training configuration of an op's runs
ENV = "../../envs/grokflow.yaml"
SPECTRUM_STEPS = [step for step in SCHEDULE if step in config["checkpoints"]["extra_steps"]]
# The op metrics, from the catalogue (grokflow.catalogue): those computed at every checkpoint by
# the generic rule, each metric's options from the config, the tables drawn against step with
# accuracy (scripts/plots/{name}.py), the tables the op summary reads, and every CSV of an op.
CHECKPOINT_METRICS = every_checkpoint()
METRIC_OPTIONS = {
    metric.name: flags(metric.settings.from_config(config)) for metric in METRICS if metric.settings is not None
}
TRAINING = TrainingSettings.from_config(config)
TRAINING_FLAGS = flags(TRAINING)
AGAINST_STEP = against_step()
OP_TABLES = ["metric", *(metric.name for metric in METRICS)]
# The training stacks (train.stack_by): the wildcards that name one in its files, and its models.
STACK_BY = config["train"]["stack_by"]
STACK = {"op": "{op}", "seed": "seed{seed}", "all": "all"}[STACK_BY]
STACK_MODELS = {"op": len(SEEDS), "seed": len(OPS), "all": len(OPS) * len(SEEDS)}[STACK_BY]
# The sizes that set the heavy jobs' time and memory limits (grokflow.resources).
MODEL_SIZES = resources.Transformer(config["modulus"], config["model"]["d_model"], config["model"]["d_mlp"],
                                    config["model"]["n_layers"])
TRAIN_EXAMPLES = round(config["train_fraction"] * config["modulus"] ** 2)
TRAINING_ESTIMATE = resources.training(MODEL_SIZES, TRAIN_EXAMPLES, STACK_MODELS, config["steps"],
                                       config["train"]["device"], config["train"]["threads"])
# Tries of a long job after its first: one killed at its time limit or with its node resumes from its
# state (training) or starts again, each time with a longer limit (by_attempt).
RETRIES = 2
# Every key that puts jobs on a torch device, and its value.
DEVICE_KEYS = {f"{study}.device": config[study]["device"]
               for study in ("train", "slt", "lowrank_decay", "table_connectivity", "lora")}


def checkpoints_at(steps):
    """An input function: the checkpoints of every seed of the op at the given steps."""

    def paths(wildcards):
        return [
            f"{RUN_DIR}/checkpoints/{checkpoint_name(step)}".format(op=wildcards.op, seed=seed)
            for seed in SEEDS
            for step in steps
        ]

    return paths


def seed_metric_csvs(wildcards):
    return [f"{RUN_DIR}/metric.csv".format(op=wildcards.op, seed=seed) for seed in SEEDS]


def workdir_path(path) -> str:
    """`path` relative to the working directory when below it, else absolute (the repository's
    files when Snakemake runs elsewhere, with -d): how the rules name their files."""
    absolute = Path(path).resolve()
    return str(absolute.relative_to(Path.cwd())) if absolute.is_relative_to(Path.cwd()) else str(absolute)


def script_with_library(script):
    """An input function for unpack(): the rule's `script` (a path in the repository, wildcards
    allowed) and the grokflow files it imports (`library`), so that a change of either reruns the
    rule's jobs."""

    def files(wildcards):
        path = Path(workflow.basedir, script.format(**wildcards))
        return {"script": workdir_path(path), "library": [workdir_path(file) for file in library_files(path)]}

    return files


def ops_of_stack(wildcards):
    """The ops the job's training stack trains."""
    return [wildcards.op] if STACK_BY == "op" else OPS


def seeds_of_stack(wildcards):
    """The seeds the job's training stack trains."""
    return [int(wildcards.seed)] if STACK_BY == "seed" else SEEDS


def stack_files(pattern):
    """`pattern` (a path with {op} and {seed}) over every run of one training stack, the stack's
    own wildcard left in: the outputs of a training job."""
    if STACK_BY == "op":
        return expand(pattern, seed=SEEDS, allow_missing=True)
    if STACK_BY == "seed":
        return expand(pattern, op=OPS, allow_missing=True)
    return expand(pattern, op=OPS, seed=SEEDS)


def stack_manifests(wildcards):
    """The training manifests of the job's ops."""
    return [TRAINING_MANIFEST.format(op=op) for op in ops_of_stack(wildcards)]


def stack_ops(wildcards):
    """scripts/train.py's --ops of the job."""
    return " ".join(shlex.quote(op) for op in ops_of_stack(wildcards))


def stack_seeds(wildcards):
    """scripts/train.py's --seeds of the job."""
    return " ".join(str(seed) for seed in seeds_of_stack(wildcards))


def by_attempt(value):
    """A resource that grows with the try: `value` on the first, twice it on the second, …"""

    def resource(wildcards, attempt):
        return value * attempt

    return resource


def chain_estimate(points, batch_points, samplers_compiled, traces, checkpoints):
    """resources.chains for an SLT job of `points` points, run `batch_points` at a time (at most
    slt.chunk), each with slt.chains chains of burn-in + draws steps."""
    slt = config["slt"]
    parallel_chains = min(batch_points, slt["chunk"] or batch_points) * slt["chains"]
    chain_steps = points * slt["chains"] * (slt["burnin"] + slt["draws"])
    return resources.chains(MODEL_SIZES, slt["batch_size"], chain_steps, parallel_chains, samplers_compiled, traces,
                            checkpoints, slt["device"], slt["threads"])


def gpus(device):
    """The `gpu` resource of a job on this torch device: 1 for cuda (sbatch --gpus=1 through the
    SLURM executor), else 0 (`auto` too: set the device to cuda to ask a cluster for a GPU)."""
    return int(resources.on_gpu(device))


def seed_figures(folder, steps=None):
    """{folder}/seed{seed} figures of every seed, or {folder}/seed{seed}/step{step} ones at `steps`."""
    if steps is None:
        return [f"{folder}/seed{seed}" for seed in SEEDS]
    return [f"{folder}/seed{seed}/step{step}" for seed in SEEDS for step in steps]


def op_figures(op):
    """Every figure (PNG) of an op: the grokking curves and each catalogued metric's; each has a
    PDF beside it."""
    names = ["accuracy", "loss", *(name for metric in METRICS for pattern in metric.figures
                                   for name in figure_names(pattern))]
    return [f"results/{op}/figures/{name}.png" for name in names]


def figure_names(pattern):
    """A catalogue figure's names: its {matrix}, {seed} and {step} filled in with every weight
    matrix, seed and spectrum step."""
    values = {"matrix": MATRICES, "seed": SEEDS, "step": SPECTRUM_STEPS}
    used = {name: items for name, items in values.items() if f"{{{name}}}" in pattern}
    return expand(pattern, **used) if used else [pattern]


# `snakemake --report report.zip`: the study (report category, grokflow.catalogue) of each rule's
# figures (PNG), each captioned by workflow/report/{rule}.rst.
STUDY_OF_RULE = {rule_name: study for study, rule_names in REPORT_STUDIES.items() for rule_name in rule_names}
FIGURE_FORMATS = (".png", ".pdf")


def figure(prefix, rule_name, names=()):
    """The outputs {prefix}.png and {prefix}.pdf of one figure of the rule `rule_name` (multiext,
    named `names` if given, e.g. ("loss", "loss_pdf")). The PNG goes into the report, captioned by
    workflow/report/{rule_name}.rst, under the rule's study and its op (or "all ops"), labelled
    by its path below figures/."""
    png, pdf = multiext(prefix, **dict(zip(names, FIGURE_FORMATS))) if names else multiext(prefix, *FIGURE_FORMATS)
    entry = report(
        png,
        caption=f"../report/{rule_name}.rst",
        category=STUDY_OF_RULE[rule_name],
        subcategory="{op}" if "{op}" in prefix else "all ops",
        labels={"figure": prefix.partition("/figures/")[2]},
    )
    return [entry, pdf]


def png_and_pdf(pngs):
    """Each figure of `pngs` (paths ending in .png) and the PDF beside it, e.g. for a target."""
    return [f"{png.removesuffix('.png')}{ext}" for png in pngs for ext in FIGURE_FORMATS]


# Parameters and inputs that depend on the job: functions, which Snakemake calls with its wildcards
# (and output); a string would have its braces filled in.
def run_dir_template(wildcards):
    """RUN_DIR with {op} and {seed} left in, for scripts/train.py's --out-template."""
    return RUN_DIR


def figure_caption(wildcards):
    """The catalogue's caption of the job's figure against step (its report caption)."""
    return BY_NAME[wildcards.figure].caption


def metric_options(wildcards):
    """The options of scripts/metrics/{metric}.py that come from the config."""
    return METRIC_OPTIONS.get(wildcards.metric, "")


def op_figure_pngs(wildcards):
    """Every figure (PNG) of the job's op."""
    return op_figures(wildcards.op)


def summary_tables(wildcards, input):
    """NAME=PATH of each table the op's summary reads."""
    return " ".join(shlex.quote(f"{name}={path}") for name, path in zip(SUMMARY_TABLES, input.tables))


def output_folder(wildcards, output):
    """The folder of the job's first output."""
    return os.path.dirname(output[0])


def heatmap_folder(wildcards, output):
    """The folder of the LoRA demo's heatmaps."""
    return os.path.dirname(output.heatmaps[0])


def dense_flag(wildcards):
    """--dense for the dense connectivity model, nothing for the low-rank one."""
    return "--dense" if wildcards.model == "dense" else ""


def table_connectivity_runs(wildcards):
    """The job's table (curve, by_hop or summary) of every connectivity model and depth."""
    return expand(f"{CONN_RUN}/{CONN_TABLES[wildcards.table]}.csv", model=CONN_MODELS, depth=CONN["depths"])


def phase_fraction_flags(wildcards):
    """The low-rank decay phase diagram's options for the job's one train fraction."""
    return flags(replace(LRD_PHASE, fractions=(float(wildcards.fraction),)))


def forced_trainings():
    """The ops whose training the command forces to rerun: every op where it forces everything,
    the training rules, or any manifest while a stack holds several ops; else the ops whose
    manifest it forces."""
    forced = set(workflow.dag_settings.forcerun)
    if workflow.dag_settings.forceall or forced & {"training_manifest", "train"}:
        return set(OPS)
    ops = {op for op in OPS if TRAINING_MANIFEST.format(op=op) in forced}
    return set(OPS) if ops and STACK_BY != "op" else ops


def check_checkpoints():
    """Stop in one line at a truncated or corrupt checkpoint of the config's runs, naming it and
    the option that retrains it, before any job that reads it deletes its outputs and then fails
    (the Snakefile's onstart: after the DAG is built, before the first job). Ops whose training
    the command forces are skipped, and so are the jobs that a cluster runs."""
    if not workflow.is_main_process:
        return
    retrained = forced_trainings()
    for op in (op for op in OPS if op not in retrained):
        broken = first_broken_checkpoint(path.format(op=op, seed=seed) for seed in SEEDS for path in CHECKPOINTS)
        if broken:
            path, problem = broken
            retrain = f"--forcerun {shlex.quote(TRAINING_MANIFEST.format(op=op))}"  # reruns the manifest's dependants
            sys.exit(f"error: {path} {problem}; retrain {op} by adding {retrain} to the snakemake command")


def check_cuda():
    """Stop in one line, before any job runs, when a device key asks for cuda and torch sees no
    CUDA GPU on this machine (the Snakefile's onstart). Only where the jobs run here: a cluster's
    login node needs no GPU. torch is imported only then, so that parsing stays light."""
    wanted = [key for key, device in DEVICE_KEYS.items() if resources.on_gpu(device)]
    if not wanted or not workflow.is_main_process or not workflow.local_exec or workflow.dryrun:
        return
    import torch

    if not torch.cuda.is_available():
        sys.exit(f"error: {', '.join(wanted)} {'asks' if len(wanted) == 1 else 'ask'} for cuda, but torch "
                 f"{torch.__version__} sees no CUDA GPU on this machine: run on a GPU machine or a cluster, "
                 "or leave out workflow/configs/gpu.yaml")
