# `snakemake --report report.zip`: every figure (PNG) of every rule below, captioned by
# workflow/report/{rule}.rst and grouped by study and op. Included last: it marks the outputs of
# rules defined in the other files, so that those files stay as they are.
from snakemake.io import AnnotatedString, report as in_report

REPORT_STUDIES = {
    "Grokking and its mechanism": [
        "training_curves", "plot_effective_rank", "metric_figure", "qk_circuit_spectrum", "psd_heatmap",
        "fourier_basis_figures", "intrinsic_dimension_figures", "agop_figures",
    ],
    "Singular learning theory": [
        "llc_rescaling_figures", "llc_trace_figures", "slt_against_step_figures", "llc_calibration_figures",
        "llc_rescaling_cv_figure",
    ],
    "LoRA rank study": ["lora_rank_demo", "lora_matrix_figures", "lora_finetune_figures"],
    "Table connectivity": ["connectivity_figures"],
    "Low-rank decay": ["lowrank_decay_figures"],
}

report: "../report/workflow.rst"

for study, rule_names in REPORT_STUDIES.items():
    for rule_name in rule_names:
        figure_rule = workflow.get_rule(rule_name)
        caption = workflow.current_basedir.join(f"../report/{rule_name}.rst")
        # One subcategory per op; figures of every op (or of none) under "all ops".
        subcategory = "{op}" if "op" in figure_rule.wildcard_names else "all ops"
        for item in figure_rule.output:
            if item.endswith(".png"):
                # An output's flags live on the string it was declared with; a plain str has none.
                if not isinstance(item._file, AnnotatedString):
                    item._file = AnnotatedString(item._file)
                in_report(item._file, caption=caption, category=study, subcategory=subcategory)
