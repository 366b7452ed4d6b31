"""End to end: the ci config's whole DAG in a temporary copy of the workflow."""

import itertools
import os
import re
import subprocess
import sys
import zipfile

import pandas as pd
import pydot
import pytest
import yaml

from grokflow.catalogue import METRICS
from grokflow.checkpoints import load_checkpoint, read_info, save_checkpoint
from grokflow.config import schedule, validate_config
from grokflow.metrics.effective_rank import MATRICES

from conftest import CI_CONFIG, REPO, copy_workflow, planned_jobs, snakemake


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("workflow"))


@pytest.fixture(scope="module")
def ci_config():
    config = yaml.safe_load((REPO / CI_CONFIG).read_text())
    return validate_config(config, REPO / "workflow/schemas/config.schema.yaml")


@pytest.fixture(scope="module")
def finished(workdir):
    """Runs before the full run: a single target builds only what it needs."""
    dry = snakemake(workdir, "-n", "-c8", "results/x-y/effective_rank.csv")
    assert dry.returncode == 0, dry.stderr
    single_target_jobs = sorted(planned_jobs(dry))
    result = snakemake(workdir, "-c2", "all")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return single_target_jobs


def test_single_target_builds_only_its_inputs(finished):
    assert finished == [("checkpoint_metric", "op=x-y, metric=effective_rank"),
                        ("train", "op=x-y"), ("training_manifest", "op=x-y")]


def test_every_checkpoint_exists_and_loads(workdir, ci_config, finished):
    for op in ci_config["ops"]:
        assert not (workdir / f"results/train_state/{op}.pt").exists()
        for seed in ci_config["seeds"]:
            folder = workdir / f"results/{op}/seed{seed}"
            for step in schedule(ci_config):
                info = read_info(folder / f"checkpoints/step{step:07d}.safetensors")
                assert (info.op, info.seed, info.step) == (op, seed, step)


PER_CHECKPOINT_TABLES = ["effective_rank", "qk_circuit_diagonal", "psd", "cosine", "gini_ipr",
                         "phase_coherence", "fourier_basis", "group_representation", "intrinsic_dimension",
                         "agop_circulant", "circuit_competition", "progress_measures"]


def test_csvs_are_well_formed_and_join(workdir, ci_config, finished):
    steps = schedule(ci_config)
    for op in ci_config["ops"]:
        metrics = pd.read_csv(workdir / f"results/{op}/metric.csv")
        assert list(metrics.columns) == ["seed", "step", "train_loss", "train_acc", "test_loss", "test_acc"]
        assert len(metrics) == len(steps) * len(ci_config["seeds"])
        assert metrics[["train_acc", "test_acc"]].stack().between(0, 1).all()
        erank = pd.read_csv(workdir / f"results/{op}/effective_rank.csv")
        assert list(erank.columns) == ["seed", "step", "layer", "matrix", "spectral_entropy", "erank"]
        assert set(erank["matrix"]) == set(MATRICES)
        assert erank["erank"].notna().all() and (erank["erank"] >= 1).all()
        for table in PER_CHECKPOINT_TABLES:
            frame = pd.read_csv(workdir / f"results/{op}/{table}.csv")
            assert {"seed", "step"} <= set(frame.columns), table
            assert set(zip(frame["seed"], frame["step"])) == set(zip(metrics["seed"], metrics["step"])), table
        spectra = pd.read_csv(workdir / f"results/{op}/qk_circuit.csv")
        assert set(spectra["step"]) == {s for s in ci_config["checkpoints"]["extra_steps"] if s in steps}
        keys = pd.read_csv(workdir / f"results/{op}/key_frequencies.csv")
        assert set(keys["group"]) == {"multiplicative" if op in ("x×y", "x÷y") else "additive"}
        assert sorted(keys["seed"].unique()) == sorted(ci_config["seeds"])
        reached = keys.groupby("seed")["cumulative_fraction"].max()
        assert (reached >= ci_config["metrics"]["key_energy_fraction"] - 1e-9).all()


def test_summaries_link_existing_figures(workdir, ci_config, finished):
    for op in ci_config["ops"]:
        summary = workdir / f"results/{op}/summary.md"
        text = summary.read_text()
        links = re.findall(r"\]\(([^)]+\.png)\)", text)
        assert links and all((summary.parent / link).exists() for link in links)
    overview = (workdir / "results/summary.md").read_text()
    assert all(f"{op}/summary.md" in overview for op in ci_config["ops"])


def test_grokking_summary_has_every_run(workdir, ci_config, finished):
    summary = pd.read_csv(workdir / "results/grokking_summary.csv")
    assert list(summary.columns) == ["op", "seed", "memorised_step", "grokked_step", "delay_ratio",
                                     "final_train_acc", "final_test_acc"]
    assert sorted(zip(summary["op"], summary["seed"])) == sorted(
        (op, seed) for op in ci_config["ops"] for seed in ci_config["seeds"])


FIGURES = ["accuracy", "loss", "fourier_sparsity", "fourier_top_k", "qk_circuit_diagonal", "cosine",
           "gini_ipr", "phase_coherence", "group_representation", "intrinsic_dimension", "qk_effective_rank",
           "agop_erank", "agop_circulant", "circuit_competition", "progress_measures",
           *(f"effective_rank/{m}" for m in MATRICES)]


def test_every_figure_is_a_png_and_a_pdf(workdir, ci_config, finished):
    extra = [s for s in ci_config["checkpoints"]["extra_steps"] if s <= ci_config["steps"]]
    seeds = ci_config["seeds"]
    spectra = [f"qk_circuit/seed{seed}/step{s}" for seed in seeds for s in extra] + [f"psd/seed{seed}" for seed in seeds]
    for op in ci_config["ops"]:
        figures = workdir / f"results/{op}/figures"
        for stem in FIGURES + spectra:
            assert (figures / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", stem
            assert (figures / f"{stem}.pdf").read_bytes()[:5] == b"%PDF-", stem


def test_lora_study_writes_its_tables_and_figures(workdir, ci_config, finished):
    lora = workdir / "results/lora"
    ranks = ci_config["lora"]["rank_candidates"]
    assert sorted(pd.read_csv(lora / "rank_error.csv")["rank"].unique()) == sorted(ranks)
    finetune = pd.read_csv(lora / "finetune.csv")
    assert set(finetune["method"]) == {"lora", "full"}
    assert finetune["step"].max() == ci_config["lora"]["steps"]
    for stem in ("lora_rank_error", "spectrum", "finetune_accuracy", "finetune_params", "heatmaps/grokked_W0"):
        assert (lora / f"figures/{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", stem
        assert (lora / f"figures/{stem}.pdf").read_bytes()[:5] == b"%PDF-", stem


def test_connectivity_study_writes_its_tables_and_figures(workdir, ci_config, finished):
    study = workdir / "results/table_connectivity"
    models = pd.read_csv(study / "models.csv")
    assert sorted(models["model"]) == ["dense", "lowrank"]
    assert (models.set_index("model").loc["dense", "attended_fraction"] == 1.0)
    assert set(pd.read_csv(study / "training.csv")["depth"]) == set(ci_config["table_connectivity"]["depths"])
    for stem in ("mask_local", "mask_global", "positional_gram_lowrank", "accuracy", "accuracy_by_hop"):
        assert (study / f"figures/{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", stem


def test_lowrank_decay_study_writes_its_tables_and_figures(workdir, ci_config, finished):
    study, settings = workdir / "results/lowrank_decay", ci_config["lowrank_decay"]
    summary = pd.read_csv(study / "phase_diagram.csv")
    cells = len(settings["fractions"]) * len(settings["strengths"]) * len(settings["seeds"])
    assert len(summary) == 2 * cells and set(summary["method"]) == {"l2", "lowrank"}
    assert summary["stop_step"].le(settings["steps"]).all() and summary["val_acc"].between(0, 1).all()
    curves = pd.read_csv(study / "mechanism.csv")
    assert {"stable_rank_layer1_Q", "stable_rank_layer1_K"} <= set(curves.columns)
    for stem in ("phase_l2", "phase_lowrank", "phase_difference", "mechanism_accuracy", "mechanism_stable_rank",
                 "mechanism_spectrum", "mechanism_attention_l2", "mechanism_attention_lowrank"):
        assert (study / f"figures/{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", stem
        assert (study / f"figures/{stem}.pdf").read_bytes()[:5] == b"%PDF-", stem


def test_report_has_every_figure_with_its_caption(workdir, finished):
    result = snakemake(workdir, "--report", "report.zip", "all")
    assert result.returncode == 0, result.stderr[-3000:]
    with zipfile.ZipFile(workdir / "report.zip") as report:
        names = report.namelist()
        html = report.read(next(name for name in names if name.endswith("report.html"))).decode()
    figures = sorted((workdir / "results").rglob("*.png"))
    assert len([name for name in names if name.endswith(".png")]) == len(figures) > 100
    for study in ("Grokking and its mechanism", "Singular learning theory", "LoRA rank study",
                  "Table connectivity", "Low-rank decay"):
        assert study in html, study
    for caption in (REPO / "workflow/report").glob("*.rst"):
        text = re.sub(r"\{[{%].*?[%}]\}", " ", caption.read_text(), flags=re.S)
        words = [word for word in text.split() if re.fullmatch(r"[A-Za-z-]{7,}", word)][:3]
        assert words and all(word in html for word in words), caption.name
    for metric in METRICS:
        words = [word for word in metric.caption.split() if re.fullmatch(r"[A-Za-z-]{7,}", word)][:3]
        assert all(word in html for word in words), metric.name


SLT_METHODS = ["sgld", "psgld", "rsgld", "sisgld"]
SLT_VARIANTS = ["fixed", "scaled"]
SLT_FIGURES = ["llc", "flatness_slt", *(f"llc_rescaling/{v}/{m}" for v in SLT_VARIANTS for m in SLT_METHODS),
               *(f"llc_traces/{m}" for m in SLT_METHODS)]


def test_slt_tables_and_figures(workdir, ci_config, finished):
    side = ci_config["slt"]["rescaling"]["grid"]
    first_op = ci_config["ops"][0]
    for op in ci_config["ops"]:
        metrics = pd.read_csv(workdir / f"results/{op}/metric.csv")
        for variant, method in itertools.product(SLT_VARIANTS, SLT_METHODS):
            grid = pd.read_csv(workdir / f"results/{op}/llc_rescaling/{variant}/{method}.csv")
            assert {"alpha", "beta", "llc_mean", "llc_std", "init_loss", "max_logit_change", "n_diverged", "negative",
                    "gamma", "variant", "reference", "checkpoint_loss"} <= set(grid.columns)
            assert len(grid) == side * side and grid["n_diverged"].between(0, ci_config["slt"]["chains"]).all()
            assert (grid["variant"] == variant).all()
        traces = pd.read_csv(workdir / f"results/{op}/llc_traces.csv")
        assert {"distance", "acceptance", "grad_norm"} <= set(traces.columns) and set(traces["method"]) == set(SLT_METHODS)
        for table in ("llc", "flatness_slt"):
            frame = pd.read_csv(workdir / f"results/{op}/{table}.csv")
            assert set(zip(frame["seed"], frame["step"])) <= set(zip(metrics["seed"], metrics["step"])), table
            assert frame["step"].max() == ci_config["steps"], table
        figures = workdir / f"results/{op}/figures"
        calibration = [f"llc_calibration/{m}" for m in SLT_METHODS] if op == first_op else []
        for stem in SLT_FIGURES + calibration:
            assert (figures / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", stem
            assert (figures / f"{stem}.pdf").read_bytes()[:5] == b"%PDF-", stem
    calibration = pd.read_csv(workdir / f"results/{first_op}/llc_calibration.csv")
    assert set(calibration["method"]) == set(SLT_METHODS)
    assert {"acceptance", "distance", "grad_norm", "gamma", "negative"} <= set(calibration.columns)
    criteria = pd.read_csv(workdir / f"results/{first_op}/llc_calibration_criteria.csv")
    assert {"nbeta_slope", "gamma_spread", "epsilon_change", "meets_criteria"} <= set(criteria.columns)
    summary = pd.read_csv(workdir / "results/llc_rescaling_summary.csv")
    assert sorted(zip(summary["op"], summary["variant"], summary["method"])) == sorted(
        itertools.product(ci_config["ops"], SLT_VARIANTS, SLT_METHODS))
    assert {"points_common", "cv", "cv_own", "points_diverged", "points_negative"} <= set(summary.columns)
    assert (workdir / "results/figures/llc_rescaling_cv.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_changed_checkpoint_reruns_only_its_op(workdir, ci_config, finished):
    assert "Nothing to be done" in snakemake(workdir, "-n", "all").stdout
    final = workdir / f"results/x+y/seed0/checkpoints/step{ci_config['steps']:07d}.safetensors"
    # Snakemake >= 9.18 skips a touched input whose checksum is unchanged (files < 1 MB) ...
    os.utime(final)
    touched = planned_jobs(snakemake(workdir, "-n", "all", "--max-checksum-file-size", "0"))
    # ... and reruns on a real change of content.
    tensors, info = load_checkpoint(final)
    save_checkpoint(final, tensors | {"W_U": 1.01 * tensors["W_U"]}, info)
    changed = planned_jobs(snakemake(workdir, "-n", "all"))
    for jobs in (touched, changed):
        assert ("checkpoint_metric", "op=x+y, metric=effective_rank") in jobs
        assert ("key_frequencies", "op=x+y") in jobs and ("op_summary", "op=x+y") in jobs
        # The LoRA study starts from x+y seed 0's final checkpoint: it reruns too. So does the
        # rescaling study, one job for every op (its samplers compile once), and its figures.
        assert ("lora_rank_demo", "") in jobs and ("lora_finetune", "") in jobs and ("llc_rescaling", "") in jobs
        cross_op = ("all", "all_ops_summary", "llc_rescaling", "llc_rescaling_figures", "llc_trace_figures",
                    "llc_rescaling_summary", "llc_rescaling_cv_figure")
        others = [(rule, wc) for rule, wc in jobs if rule not in cross_op and not rule.startswith("lora")]
        assert all("op=x+y" in wc for _, wc in others), others
        assert not any(rule in ("train", "qk_circuit") for rule, _ in jobs)
    assert sorted(touched) == sorted(changed)


@pytest.mark.parametrize("graph", ["--dag", "--rulegraph"])
def test_dag_and_rulegraph_are_valid_dot(workdir, graph):
    result = snakemake(workdir, graph, "dot", "all")
    assert result.returncode == 0, result.stderr[-3000:]
    (parsed,) = pydot.graph_from_dot_data(result.stdout)
    nodes = {node.get_name(): node.get("label") for node in parsed.get_nodes() if node.get("label")}
    edges = [(edge.get_source(), edge.get_destination()) for edge in parsed.get_edges()]
    assert edges and all(a in nodes and b in nodes for a, b in edges)
    rules = {re.match(r'"?(\w+)', label).group(1) for label in nodes.values()}
    assert {"train", "checkpoint_metric", "llc_rescaling", "lora_finetune", "table_connectivity_train", "all"} <= rules
    if graph == "--rulegraph":
        assert len(rules) == len(nodes)


def test_lint_is_clean():
    result = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0
    assert "Congratulations" in result.stdout + result.stderr
