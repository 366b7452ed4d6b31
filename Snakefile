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


localrules:
    all,
    all_csvs,
    all_figures,


rule all_csvs:
    input:
        expand("results/{op}/{table}.csv", op=OPS, table=["metric", "effective_rank"]),
        rules.grokking_summary.output,


rule all_figures:
    input:
        expand(rules.training_curves.output, op=OPS),
        expand(rules.plot_effective_rank.output, op=OPS),


rule all:
    default_target: True
    input:
        rules.all_csvs.input,
        rules.all_figures.input,
