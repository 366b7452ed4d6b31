# grokflow: train small transformers on modular arithmetic, watch them grok, measure why.
# Targets: all (= all_csvs + all_figures + summaries), all_csvs, all_figures, op_studies (every
# op's tables, figures and summaries and the SLT study: all but the companion studies), lora,
# table_connectivity, slt, lowrank_decay. See README.md. Runs from any working directory:
# snakemake -s REPO/Snakefile -d DIR.
import os

from snakemake.utils import min_version

# Checksums of small inputs: a touched but unchanged file or library module reruns nothing.
min_version("9.18")


# The defaults of the repository's config.yaml, wherever the working directory is; --configfile
# files override them.
configfile: os.path.join(workflow.basedir, "config.yaml")


wildcard_constraints:
    op="x\\+y|x-y|x×y|x÷y",
    seed=r"\d+",
    variant="fixed|scaled",


include: "workflow/rules/common.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/summary.smk"
include: "workflow/rules/lora.smk"
include: "workflow/rules/table_connectivity.smk"
include: "workflow/rules/slt.smk"
include: "workflow/rules/lowrank_decay.smk"


# A GPU config without a GPU, and a broken checkpoint, are reported in one line before any job
# runs (common.smk).
onstart:
    check_cuda()
    check_checkpoints()


# `snakemake --report report.zip`: every figure (PNG), captioned, grouped by study and op (common.smk's figure()).
report: "workflow/report/workflow.rst"


localrules:
    all,
    all_csvs,
    all_figures,
    op_studies,
    lora,
    table_connectivity,
    slt,
    lowrank_decay,


rule all_csvs:
    input:
        expand("results/{op}/{table}.csv", op=OPS, table=OP_TABLES),
        rules.grokking_summary.output,
        rules.lora_rank_demo.output.csv,
        rules.lora_rank_demo.output.spectrum,
        rules.lora_finetune.output,
        expand("results/table_connectivity/{table}.csv", table=CONN_TABLES),
        SLT_CSVS,


rule all_figures:
    input:
        png_and_pdf(png for op in OPS for png in op_figures(op)),
        LORA_FIGURES,
        LRD_FIGURES,
        CONN_FIGURES,
        SLT_FIGURE_FILES,


rule op_studies:
    input:
        expand("results/{op}/{table}.csv", op=OPS, table=OP_TABLES),
        rules.grokking_summary.output,
        png_and_pdf(png for op in OPS for png in op_figures(op)),
        expand("results/{op}/summary.md", op=OPS),
        "results/summary.md",
        SLT_CSVS,
        SLT_FIGURE_FILES,


rule all:
    default_target: True
    input:
        rules.all_csvs.input,
        rules.all_figures.input,
        expand("results/{op}/summary.md", op=OPS),
        "results/summary.md",
