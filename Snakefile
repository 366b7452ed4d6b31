# grokflow: train small transformers on modular arithmetic, watch them grok, measure why.
# Targets: all (= all_csvs + all_figures), all_csvs, all_figures. See README.md.
configfile: "config.yaml"


wildcard_constraints:
    op="x\\+y|x-y|x×y|x÷y",
    seed=r"\d+",


include: "workflow/rules/common.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/metrics.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/summary.smk"
include: "workflow/rules/slt.smk"


localrules:
    all,
    all_csvs,
    all_figures,
    slt,


rule all_csvs:
    input:
        expand("results/{op}/{table}.csv", op=OPS, table=OP_TABLES),
        rules.grokking_summary.output,
        SLT_CSVS,


rule all_figures:
    input:
        [figure.replace(".png", ext) for op in OPS for figure in op_figures(op) for ext in (".png", ".pdf")],
        SLT_FIGURE_FILES,


rule slt:
    """Singular learning theory: the rescaling study, LLC and λ_eff over training, the calibration."""
    input:
        SLT_CSVS,
        SLT_FIGURE_FILES,


rule all:
    default_target: True
    input:
        rules.all_csvs.input,
        rules.all_figures.input,
        expand("results/{op}/summary.md", op=OPS),
        "results/summary.md",
