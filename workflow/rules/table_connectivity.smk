# The table-connectivity study: outputs under results/table_connectivity/.
from grokflow.settings import TableConnectivitySettings, TableConnectivitySizes

CONN = config["table_connectivity"]
CONN_DIR = "results/table_connectivity"
CONN_MODELS = ["lowrank", "dense"]
CONN_RUN = f"{CONN_DIR}/{{model}}_depth{{depth}}"
CONN_DEEPEST = max(CONN["depths"])
CONN_FIGURE_NAMES = ["mask_local", "mask_global", "positional_gram_lowrank", "positional_gram_dense", "accuracy",
                     "accuracy_by_hop"]
CONN_FIGURES = png_and_pdf(f"{CONN_DIR}/figures/{name}.png" for name in CONN_FIGURE_NAMES)
CONN_TABLES = {"training": "curve", "by_hop": "by_hop", "models": "summary"}


rule table_connectivity_train:
    """Train one model (low-rank with masks, or dense) of one depth on fresh random graphs. Resumes
    from its train_state.pt (kept outside the declared outputs, so that Snakemake's clean-up of an
    interrupted job does not delete it)."""
    input:
        unpack(script_with_library("scripts/table_connectivity/train.py")),
    output:
        curve=f"{CONN_RUN}/curve.csv",
        by_hop=f"{CONN_RUN}/by_hop.csv",
        summary=f"{CONN_RUN}/summary.csv",
        weights=f"{CONN_RUN}/weights.safetensors",
    wildcard_constraints:
        model="lowrank|dense",
        depth=r"\d+",
    params:
        dense=dense_flag,
        options=flags(TableConnectivitySettings.from_config(config)),
        state=f"{CONN_RUN}/train_state.pt",
    log:
        "results/logs/table_connectivity/{model}_depth{depth}.log",
    benchmark:
        "results/benchmarks/table_connectivity/{model}_depth{depth}.tsv"
    threads: 1
    resources:
        mem_mb=by_attempt(math.ceil(resources.host_mb(CONN["device"], 500))),
        runtime=by_attempt(10 + math.ceil(CONN["steps"] * 0.1 / 60)),
        gpu=gpus(CONN["device"]),
    retries: RETRIES
    conda:
        ENV
    shell:
        "python {input.script:q} {params.dense} --depth {wildcards.depth} {params.options} --threads {threads} "
        "--state {params.state:q} --curve {output.curve:q} --by-hop {output.by_hop:q} --summary {output.summary:q} "
        "--weights {output.weights:q} > {log:q} 2>&1"


rule table_connectivity_combine:
    """One table of every model and depth: training (curves), by_hop or models (summaries)."""
    input:
        unpack(script_with_library("scripts/table_connectivity/combine.py")),
        csvs=table_connectivity_runs,
    output:
        f"{CONN_DIR}/{{table}}.csv",
    wildcard_constraints:
        table="|".join(CONN_TABLES),
    log:
        "results/logs/table_connectivity/{table}.log",
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        ENV
    shell:
        "python {input.script:q} {input.csvs:q} --output {output:q} > {log:q} 2>&1"


rule table_connectivity_figures:
    """Masks, positional Gram matrices, accuracy against step and by hop distance."""
    input:
        unpack(script_with_library("scripts/table_connectivity/plots.py")),
        training=f"{CONN_DIR}/training.csv",
        by_hop=f"{CONN_DIR}/by_hop.csv",
        lowrank=f"{CONN_DIR}/lowrank_depth{CONN_DEEPEST}/weights.safetensors",
        dense=f"{CONN_DIR}/dense_depth{CONN_DEEPEST}/weights.safetensors",
    output:
        [figure(f"{CONN_DIR}/figures/{name}", "table_connectivity_figures") for name in CONN_FIGURE_NAMES],
    params:
        sizes=flags(TableConnectivitySizes.from_config(config)),
        out=output_folder,
    log:
        "results/logs/table_connectivity/figures.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        ENV
    shell:
        "python {input.script:q} {params.sizes} "
        "--training {input.training:q} --by-hop {input.by_hop:q} --lowrank-weights {input.lowrank:q} "
        "--dense-weights {input.dense:q} --out-dir {params.out:q} > {log:q} 2>&1"


rule table_connectivity:
    """Every output of the table-connectivity study."""
    input:
        expand(f"{CONN_DIR}/{{table}}.csv", table=CONN_TABLES),
        CONN_FIGURES,
