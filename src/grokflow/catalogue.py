"""The catalogue of an op's metrics: one entry per table `results/{op}/{name}.csv`, written by
`scripts/metrics/{name}.py`, with what it computes, what it reads, its options, its figures and
what the op's summary reports of it; and, for every study, the rules that draw its figures (the
report's categories) and how the cluster profile bundles the short jobs.

The workflow's rules, the op summary (grokflow.op_summary), the report, the SLURM profile (kept
equal by a test) and the tests read this module, so that adding a metric is its library
function, its short script, its test and one entry here (see docs/extending.md). Torch-free: the
Snakefile imports it when it is parsed.
"""

from dataclasses import dataclass

from .settings import (AgopSettings, CircuitCompetitionSettings, FourierBasisSettings, GroupRepresentationSettings,
                       GroupSettings, KeyFrequencySettings)

# The rule that computes a metric at every checkpoint of every seed of an op (workflow/rules/metrics.smk).
EVERY_CHECKPOINT = "checkpoint_metric"


@dataclass(frozen=True)
class Headline:
    """Value columns of one metric table, on the rows where every `where` column equals its value;
    labelled column(subject). The op summary reduces each to its seed-mean series over training."""

    table: str
    where: tuple[tuple[str, object], ...]
    columns: tuple[str, ...]
    subject: str
    baselines: tuple[tuple[str, str], ...] = ()  # (value column, its random-baseline column)

    def labels(self) -> list[str]:
        return [f"{column}({self.subject})" for column in self.columns]


@dataclass(frozen=True)
class Metric:
    """One op metric.

    name: the table results/{op}/{name}.csv and the script scripts/metrics/{name}.py;
    function: the library function that computes its rows ("module:function");
    reads: the tensors (or tables) it reads, in words;
    rule: the rule that runs it: EVERY_CHECKPOINT (every checkpoint, the generic rule) or its own;
    settings: the grokflow.settings class of its options from the config (None: no options);
    against_step: scripts/plots/{name}.py draws the table against step with accuracy (rule
        metric_figure; its command line: grokflow.plotting.against_step_parser);
    caption: what that figure shows, for its caption in the report;
    figures: its figures below results/{op}/figures/ ({matrix}, {seed} and {step} stand for each
        weight matrix, seed and spectrum step), whichever rule draws them;
    headlines: what the op's summary reports of it.
    """

    name: str
    function: str
    reads: str
    rule: str = EVERY_CHECKPOINT
    settings: type | None = None
    against_step: bool = False
    caption: str = ""
    figures: tuple[str, ...] = ()
    headlines: tuple[Headline, ...] = ()


def _competition_headline(matrix: str) -> Headline:
    return Headline("circuit_competition", (("matrix", matrix),), ("fourier_share", "memo_share", "neither_share"),
                    matrix, (("fourier_share", "fourier_baseline"), ("memo_share", "memo_baseline")))


METRICS = (
    Metric("effective_rank", "grokflow.metrics.effective_rank:effective_rank_rows", "every weight matrix",
           figures=("effective_rank/{matrix}",),
           headlines=(Headline("effective_rank", (("matrix", "W_E"), ("layer", -1)), ("erank",), "W_E"),
                      Headline("effective_rank", (("matrix", "W_U"),), ("erank",), "W_U"))),
    Metric("gini_ipr", "grokflow.metrics.gini_ipr:gini_ipr_rows", "W_E", settings=GroupSettings,
           against_step=True, figures=("gini_ipr",),
           caption="Gini coefficient and inverse participation ratio of W_E's Fourier power spectrum",
           headlines=(Headline("gini_ipr", (("variant", "per_dimension"),), ("gini", "ipr"), "W_E per dimension"),)),
    Metric("phase_coherence", "grokflow.metrics.phase_coherence:phase_coherence_rows", "W_E",
           settings=GroupSettings, against_step=True, figures=("phase_coherence",),
           caption=("R² of W_E's Fourier phase against frequency, weighted by amplitude (blind to Fourier "
                    "features, whose phases are arbitrary)"),
           headlines=(Headline("phase_coherence", (("column", -1),), ("r2",),
                               "W_E phase, blind to Fourier features"),)),
    Metric("fourier_basis", "grokflow.metrics.fourier_basis:fourier_basis_rows", "W_E, W_U and the MLP weights",
           settings=FourierBasisSettings, figures=("fourier_sparsity", "fourier_top_k"),
           headlines=(Headline("fourier_basis", (("matrix", "W_E"),), ("l1_l2_ratio", "top_k_energy"), "W_E"),)),
    Metric("group_representation", "grokflow.metrics.group_representation:group_representation_rows", "W_E",
           settings=GroupRepresentationSettings, against_step=True, figures=("group_representation",),
           caption=("residual ε_R, held-out residual and orthogonality defect δ_orth of the best linear map "
                    "from an element's embedding to the next one's"),
           headlines=(Headline("group_representation", (), ("residual", "heldout_residual", "orth_defect"),
                               "W_E shift"),)),
    Metric("cosine", "grokflow.metrics.embedding_geometry:cosine_rows", "W_E", settings=GroupSettings,
           against_step=True, figures=("cosine",),
           caption=("mean cosine similarity of neighbouring elements' embeddings (x, x+1 in Z_p; x, g·x for "
                    "x×y and x÷y)"),
           headlines=(Headline("cosine", (), ("cosine",), "neighbouring W_E rows"),)),
    Metric("psd", "grokflow.metrics.embedding_geometry:psd_rows", "W_E", settings=GroupSettings,
           figures=("psd/seed{seed}",)),
    Metric("qk_circuit_diagonal", "grokflow.metrics.qk_circuit:diagonal_rows", "W_E, W_Q and W_K of every layer",
           settings=GroupSettings, against_step=True, figures=("qk_circuit_diagonal",),
           caption=("share of the layer-0 QK circuit's 2-D Fourier power on the diagonal k2 = ±k1, beside the "
                    "share of evenly spread power"),
           headlines=(Headline("qk_circuit_diagonal", (("layer", 0), ("head", -1)), ("diagonal_fraction",),
                               "layer 0 QK", (("diagonal_fraction", "random_baseline"),)),)),
    Metric("intrinsic_dimension", "grokflow.metrics.intrinsic_dimension:intrinsic_dimension_rows",
           "W_E and every layer's W_QK", figures=("intrinsic_dimension", "qk_effective_rank"),
           headlines=(Headline("intrinsic_dimension", (("matrix", "W_E"),),
                               ("twonn_id", "twonn_tie_share", "participation_ratio"), "W_E"),
                      Headline("intrinsic_dimension", (("matrix", "W_QK"), ("layer", 0)), ("erank",),
                               "layer 0 W_QK"))),
    Metric("qk_circuit", "grokflow.metrics.qk_circuit:spectrum_rows", "layer 0's W_E, W_Q and W_K at the extra steps",
           rule="qk_circuit", settings=GroupSettings, figures=("qk_circuit/seed{seed}/step{step}",)),
    Metric("key_frequencies", "grokflow.metrics.key_frequencies:key_frequencies", "W_E at each seed's last step",
           rule="key_frequencies", settings=KeyFrequencySettings),
    Metric("agop_circulant", "grokflow.metrics.agop:agop_rows", "the whole network's input gradients",
           rule="agop_circulant", settings=AgopSettings, figures=("agop_erank", "agop_circulant"),
           headlines=(Headline("agop_circulant", (("split", "train"), ("block", "full")),
                               ("agop_erank", "agop_top_share"), "train AGOP"),
                      Headline("agop_circulant", (("split", "train"), ("block", "x")),
                               ("gram_circulant_deviation", "agop_circulant_deviation"),
                               "W_E Gram / pulled-back AGOP"))),
    Metric("circuit_competition", "grokflow.metrics.circuit_competition:competition_rows",
           "W_E, W_U and the per-sample loss gradients", rule="circuit_competition",
           settings=CircuitCompetitionSettings, against_step=True, figures=("circuit_competition",),
           caption=("share of W_E's and W_U's norm in the Fourier subspace of each seed's key frequencies and "
                    "in the memorisation subspace, beside the shares of a random direction"),
           headlines=(_competition_headline("W_E"), _competition_headline("W_U"))),
    Metric("progress_measures", "grokflow.metrics.progress_measures:progress_rows",
           "the whole network, restricted to and excluding the key frequencies", rule="progress_measures",
           settings=GroupSettings, against_step=True, figures=("progress_measures",),
           caption=("restricted loss (logits kept along the key frequencies) and excluded loss (those "
                    "directions removed, training set) of Nanda et al. 2023, beside train and test loss and "
                    "chance"),
           headlines=(Headline("progress_measures", (), ("restricted_loss", "excluded_loss"), "key frequencies",
                               (("restricted_loss", "chance_loss"), ("excluded_loss", "chance_loss"))),)),
)
BY_NAME = {metric.name: metric for metric in METRICS}
# What the op summary reports, in the order it reports it, and the tables it reads.
HEADLINES = tuple(headline for metric in METRICS for headline in metric.headlines)
SUMMARY_TABLES = tuple(metric.name for metric in METRICS if metric.headlines)


def every_checkpoint() -> list[str]:
    """The metrics the generic rule computes at every checkpoint."""
    return [metric.name for metric in METRICS if metric.rule == EVERY_CHECKPOINT]


def against_step() -> list[str]:
    """The metrics drawn against step by scripts/plots/{name}.py (rule metric_figure)."""
    return [metric.name for metric in METRICS if metric.against_step]


# The report's categories: each study and the rules that draw its figures (each figure's caption:
# workflow/report/{rule}.rst).
REPORT_STUDIES = {
    "Grokking and its mechanism": (
        "training_curves", "plot_effective_rank", "metric_figure", "qk_circuit_spectrum", "psd_heatmap",
        "fourier_basis_figures", "intrinsic_dimension_figures", "agop_figures",
    ),
    "Singular learning theory": (
        "llc_rescaling_figures", "llc_trace_figures", "slt_against_step_figures", "llc_calibration_figures",
        "llc_rescaling_cv_figure",
    ),
    "LoRA rank study": ("lora_rank_demo", "lora_matrix_figures", "lora_finetune_figures"),
    "Table connectivity": ("table_connectivity_figures",),
    "Low-rank decay": ("lowrank_decay_figures",),
}
# Rules that gather tables into one summary table or page.
SUMMARY_RULES = ("grokking_summary", "llc_rescaling_summary", "table_connectivity_combine",
                 "lowrank_decay_phase_diagram", "op_summary", "all_ops_summary")


def slurm_groups() -> dict[str, str]:
    """The group of each rule whose jobs last seconds, which workflow/profiles/slurm bundles into
    one SLURM job per group (a SLURM job costs a submission and a Snakemake start): "measure" for
    the op's tables (the metrics' rules and the metric table), "figures" for the summaries and
    every rule that draws figures."""
    measure = ["metric_table", *dict.fromkeys(metric.rule for metric in METRICS)]
    figures = [*SUMMARY_RULES, *(rule for rules in REPORT_STUDIES.values() for rule in rules)]
    return {rule: "measure" for rule in measure} | {rule: "figures" for rule in figures}
