from dataclasses import replace
import importlib.util
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from grokflow.table_connectivity.training import ConnectivityTraining, Prefetcher, TrainConfig, TrainingStopped, train
from grokflow.errors import GrokflowError
from grokflow.settings import TableConnectivitySettings
from grokflow.table_connectivity.model import (ConnectivityTransformer, NetConfig, attended_pairs, global_mask, local_mask,
                                         masked_attention, positional_parameters)
from grokflow.table_connectivity.task import (DISCONNECTED, EMPTY, NEIGHBOUR, OWN, QUERY, SOURCE, TARGET, TaskConfig,
                                        components, constant_answer, encode, hop_distances, random_neighbours,
                                        sample_batch)
from test_embedding_geometry import REPO_SCRIPTS, assert_png_and_pdf, run_script

DEFAULTS = TableConnectivitySettings()
TINY_TRAIN = TrainConfig(steps=30, batch_size=8, lr=DEFAULTS.lr, weight_decay=DEFAULTS.weight_decay, eval_every=5,
                         validation_size=32, seed=DEFAULTS.seed)


def task_config(**sizes) -> TaskConfig:
    """The task at the settings' defaults but for `sizes`."""
    return TaskConfig(**{"V": DEFAULTS.V, "C": DEFAULTS.C, "rho": DEFAULTS.rho, "n_dims": DEFAULTS.n_dims} | sizes)


def net_config(**sizes) -> NetConfig:
    """The network at the settings' defaults but for `sizes` (the depth is each test's)."""
    return NetConfig(**{"d_model": DEFAULTS.d_model, "n_heads": DEFAULTS.n_heads,
                        "local_layers": DEFAULTS.local_layers} | sizes)


TINY_TASK = task_config(V=4, C=2, n_dims=5)


def generator(seed=0):
    return torch.Generator().manual_seed(seed)


def union_find_connected(neighbours, s, t) -> bool:
    parent = list(range(len(neighbours)))

    def find(v):
        while parent[v] != v:
            v = parent[v]
        return v

    for v, slots in enumerate(neighbours):
        for u in slots:
            if u >= 0:
                parent[find(u)] = find(v)
    return find(s) == find(t)


@pytest.mark.parametrize(("V", "C"), [(20, 3), (7, 2), (4, 1)])
def test_mask_counts_match_the_formulas(V, C):
    assert int(local_mask(V, C).sum()) == V * (C + 1) ** 2 + 3
    assert int(global_mask(V, C).sum()) == (V + 3) ** 2
    assert local_mask(V, C).shape == (V * (C + 1) + 3,) * 2


def test_mask_counts_of_the_seed():
    assert int(local_mask(20, 3).sum()) == 323 and int(global_mask(20, 3).sum()) == 529


def test_global_mask_links_the_block_last_tokens_and_the_tail():
    keys = global_mask(3, 2).any(dim=0).nonzero()[:, 0].tolist()
    assert keys == [2, 5, 8, 9, 10, 11]


def test_empty_mask_rows_give_zero_output_not_nan():
    q = k = v = torch.randn(1, 1, 4, 8, generator=generator())
    mask = torch.tensor([[True, True, False, False], [False] * 4, [False, False, True, False], [False] * 4])
    out = masked_attention(q, k, v, mask)
    assert not out.isnan().any()
    assert (out[0, 0, [1, 3]] == 0).all() and (out[0, 0, 2] == v[0, 0, 2]).all()


@pytest.mark.parametrize("lowrank", [True, False])
def test_forward_shape_no_nan_and_parameter_count(lowrank):
    task, net = task_config(V=5, C=2, n_dims=5), net_config(d_model=16, n_heads=2, n_layers=3, lowrank=lowrank)
    model = ConnectivityTransformer(task, net)
    logits = model(sample_batch(6, task, generator()).tokens)
    assert logits.shape == (6,) and not logits.isnan().any()
    d, L = 16, task.length
    expected_positional = (task.C + 1 + 3) * d if lowrank else L * d
    assert positional_parameters(task, net) == expected_positional
    shared = sum(p.numel() for name, p in model.named_parameters() if not name.startswith("pos_"))
    assert sum(p.numel() for p in model.parameters()) == shared + expected_positional
    per_layer = [task.V * 9 + 3, task.V * 9 + 3, (task.V + 3) ** 2] if lowrank else [L * L] * 3
    assert attended_pairs(task, net) == sum(per_layer)


def test_low_rank_positions_repeat_one_block_and_train_it():
    task = task_config(V=4, C=2, n_dims=5)
    model = ConnectivityTransformer(task, net_config(d_model=8, n_heads=2, n_layers=3))
    positions = model.positions()
    blocks = positions[: task.V * 3].view(task.V, 3, -1)
    assert torch.equal(blocks, blocks[:1].expand_as(blocks))
    model(sample_batch(4, task, generator()).tokens).sum().backward()
    assert model.pos_shared.grad.abs().sum() > 0 and model.pos_tail.grad.abs().sum() > 0


def test_graphs_have_degree_at_most_c_and_symmetric_edges():
    neighbours = random_neighbours(50, task_config(V=9, C=3), generator(1))
    for graph in neighbours.tolist():
        for v, slots in enumerate(graph):
            assert len(slots) == 3
            assert all(v in graph[u] for u in slots if u >= 0)


def test_labels_agree_with_union_find_and_are_balanced():
    task = task_config(V=10, C=2)
    batch = sample_batch(400, task, generator(2))
    assert float(batch.labels.mean()) == 0.5
    s, t = batch.tokens.shape[1] - 2, batch.tokens.shape[1] - 1
    sources = encode_index(batch, s)
    targets = encode_index(batch, t)
    for graph, source, target, label, hop in zip(batch.neighbours.tolist(), sources, targets, batch.labels, batch.hops):
        assert source != target
        assert union_find_connected(graph, source, target) == bool(label)
        assert (hop == DISCONNECTED) == (not bool(label))


def encode_index(batch, position):
    """The vertex whose own-code token carries the same code as the token at `position`."""
    code_dim = batch.tokens.shape[-1] - 1
    V, C = batch.neighbours.shape[1:]
    own = batch.tokens[:, C :: C + 1][:, :V, :code_dim]
    return (own - batch.tokens[:, position : position + 1, :code_dim]).abs().sum(-1).argmin(-1).tolist()


def test_a_hand_made_graph_gives_the_expected_tokens_and_distances():
    task = task_config(V=4, C=2, n_dims=3)
    neighbours = torch.tensor([[[1, -1], [0, 2], [-1, 1], [-1, -1]]])  # path 0 – 1 – 2, vertex 3 alone
    tokens = encode(neighbours, torch.tensor([0]), torch.tensor([2]), task, generator(3))[0]
    types = tokens[:, -1].long().tolist()
    assert types == [NEIGHBOUR, EMPTY, OWN, NEIGHBOUR, NEIGHBOUR, OWN, EMPTY, NEIGHBOUR, OWN, EMPTY, EMPTY, OWN,
                     QUERY, SOURCE, TARGET]
    codes = tokens[:, :-1]
    own = {v: codes[3 * v + 2] for v in range(4)}
    assert torch.equal(codes[0], own[1]) and torch.equal(codes[3], own[0]) and torch.equal(codes[4], own[2])
    assert torch.equal(codes[13], own[0]) and torch.equal(codes[14], own[2]) and codes[12].abs().sum() == 0
    assert hop_distances(neighbours, torch.tensor([0])).tolist() == [[0, 1, 2, DISCONNECTED]]
    assert components(neighbours).tolist() == [[0, 0, 0, 3]]


def test_train_script_writes_its_tables_and_the_figures_script_draws(tmp_path):
    common = ["--V", 4, "--C", 2, "--n-dims", 5, "--d-model", 8, "--n-heads", 2, "--depth", 3, "--steps", 4,
              "--batch-size", 8, "--eval-every", 2, "--validation-size", 64]
    for model in ("lowrank", "dense"):
        out = tmp_path / model
        run_script("table_connectivity/train.py", *common, *(["--dense"] if model == "dense" else []),
                   "--state", out / "train_state.pt", "--curve", out / "curve.csv", "--by-hop", out / "by_hop.csv",
                   "--summary", out / "summary.csv", "--weights", out / "weights.safetensors")
        assert not (out / "train_state.pt").exists()
        summary = pd.read_csv(out / "summary.csv").iloc[0]
        assert summary["model"] == model and summary["depth"] == 3
        assert list(pd.read_csv(out / "curve.csv")["step"]) == [2, 4]
    for table in ("curve", "by_hop"):
        run_script("table_connectivity/combine.py", tmp_path / f"lowrank/{table}.csv", tmp_path / f"dense/{table}.csv",
                   "-o", tmp_path / f"{table}.csv")
    run_script("table_connectivity/plots.py", "--V", 4, "--C", 2, "--n-dims", 5, "--training", tmp_path / "curve.csv",
               "--by-hop", tmp_path / "by_hop.csv", "--lowrank-weights", tmp_path / "lowrank/weights.safetensors",
               "--dense-weights", tmp_path / "dense/weights.safetensors", "--out-dir", tmp_path / "figures")
    for stem in ("mask_local", "positional_gram_dense", "accuracy_by_hop"):
        assert_png_and_pdf(tmp_path / f"figures/{stem}.png")


def test_prefetched_batches_and_states_equal_sequential_sampling():
    sequential = generator(5)
    with Prefetcher(8, TINY_TASK, generator(5).get_state()) as batches:
        for _ in range(7):
            expected, batch = sample_batch(8, TINY_TASK, sequential), batches.next()
            for field in ("tokens", "labels", "hops", "neighbours"):
                assert torch.equal(getattr(batch, field), getattr(expected, field))
            assert torch.equal(batches.state, sequential.get_state())


@pytest.mark.parametrize("lowrank", [True, False])
def test_killed_and_resumed_training_equals_an_uninterrupted_run(tmp_path, lowrank):
    net = net_config(d_model=8, n_heads=2, n_layers=3, lowrank=lowrank)
    reference, curve, by_hop = train(TINY_TASK, net, TINY_TRAIN, "reference", tmp_path / "reference.pt")
    for stop_after, stopped_at in ((7, 7), (11, 18)):
        with pytest.raises(TrainingStopped, match=f"step limit of this run at step {stopped_at} of 30") as stopped:
            train(TINY_TASK, net, TINY_TRAIN, "killed", tmp_path / "state.pt", stop_after_steps=stop_after)
        assert stopped.value.exit_code == 75
        assert torch.load(tmp_path / "state.pt", weights_only=True)["step"] == stopped_at
    resumed, resumed_curve, resumed_by_hop = train(TINY_TASK, net, TINY_TRAIN, "resumed", tmp_path / "state.pt")
    pd.testing.assert_frame_equal(resumed_curve, curve, check_exact=True)
    pd.testing.assert_frame_equal(resumed_by_hop, by_hop, check_exact=True)
    assert list(curve["step"]) == [5, 10, 15, 20, 25, 30]
    for name, tensor in reference.state_dict().items():
        assert torch.equal(resumed.state_dict()[name], tensor), name


def test_a_state_of_another_configuration_is_ignored(tmp_path, capsys):
    net = net_config(d_model=8, n_heads=2, n_layers=3)
    with pytest.raises(TrainingStopped):
        train(TINY_TASK, net, TINY_TRAIN, "first", tmp_path / "state.pt", stop_after_steps=6)
    changed = ConnectivityTraining(TINY_TASK, net, replace(TINY_TRAIN, lr=1e-3), tmp_path / "state.pt")
    changed.resume()
    assert changed.step == 0 and changed.rows == []
    assert "belongs to another configuration: starting afresh" in capsys.readouterr().out
    same = ConnectivityTraining(TINY_TASK, net, TINY_TRAIN, tmp_path / "state.pt")
    same.resume()
    assert same.step == 6 and [row["step"] for row in same.rows] == [5]


def test_an_unreadable_state_is_refused_in_one_line(tmp_path):
    (tmp_path / "state.pt").write_text("not a state")
    training = ConnectivityTraining(TINY_TASK, net_config(d_model=8, n_heads=2, n_layers=3), TINY_TRAIN,
                                    tmp_path / "state.pt")
    with pytest.raises(GrokflowError, match="is not a readable resume state"):
        training.resume()


def test_sigterm_saves_the_state_and_exits_143_and_a_rerun_resumes(tmp_path):
    state = tmp_path / "train_state.pt"
    command = [sys.executable, str(REPO_SCRIPTS / "table_connectivity/train.py"), "--V", "4", "--C", "2", "--n-dims", "5",
               "--d-model", "8", "--n-heads", "2", "--depth", "3", "--steps", "1000000", "--batch-size", "8",
               "--validation-size", "32", "--state", str(state), "--save-every-s", "0",
               *(arg for name in ("curve", "by-hop", "summary", "weights") for arg in (f"--{name}", tmp_path / name))]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as process:
        deadline = time.monotonic() + 60
        while not state.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGTERM)
        stderr = process.communicate()[1]
    assert process.returncode == 143 and "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("stopped by SIGTERM at step ")
    step = torch.load(state, weights_only=True)["step"]
    rerun = subprocess.run([*command, "--stop-after-steps", "3"], capture_output=True, text=True)
    assert rerun.returncode == 75 and torch.load(state, weights_only=True)["step"] == step + 3


def test_the_constant_answer_scores_the_majority_class_fraction_on_a_small_fixture():
    balanced = constant_answer([1, 2, 3, DISCONNECTED], [10, 6, 4, 20])
    assert balanced.label == 1 and balanced.connected_fraction == 0.5  # a tie goes to "connected"
    assert balanced.accuracy == {1: 1.0, 2: 1.0, 3: 1.0, DISCONNECTED: 0.0}
    mostly_apart = constant_answer([1, 2, DISCONNECTED], [2, 1, 7])
    assert mostly_apart.label == 0 and mostly_apart.connected_fraction == pytest.approx(0.3)
    assert mostly_apart.accuracy == {1: 0.0, 2: 0.0, DISCONNECTED: 1.0}
    overall = sum(mostly_apart.accuracy[h] * n for h, n in zip([1, 2, DISCONNECTED], [2, 1, 7])) / 10
    assert overall == pytest.approx(0.7)  # the majority-class fraction


def test_the_constant_answer_by_hop_equals_its_accuracy_on_a_sampled_batch():
    batch = sample_batch(200, task_config(V=8, C=2), generator(4))
    table = pd.DataFrame({"hop": batch.hops.numpy()}).groupby("hop").size()
    constant = constant_answer(table.index, table.to_numpy())
    assert constant.connected_fraction == pytest.approx(float(batch.labels.mean()))
    for hop, accuracy in constant.accuracy.items():
        labels = batch.labels[batch.hops == hop]
        assert accuracy == pytest.approx(float((labels == constant.label).float().mean()))


def connectivity_plots():
    spec = importlib.util.spec_from_file_location("connectivity_plots", REPO_SCRIPTS / "table_connectivity/plots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def drawn_figure(monkeypatch, module, draw, *args):
    """The figure that `draw` saves, kept open (its save replaced)."""
    saved = []
    monkeypatch.setattr(module, "save_figure", lambda fig, path: saved.append(fig))
    draw(*args, path="unused.png")
    (figure,) = saved
    figure.canvas.draw()
    return figure, figure.axes[0]


def assert_legend_outside(ax):
    legend, box = ax.get_legend(), ax.get_window_extent()
    assert legend is not None and legend.get_window_extent().y0 >= box.y1 - 1


def two_models(rows):
    return pd.DataFrame([{"model": model, "depth": 3} | row for model in ("lowrank", "dense") for row in rows])


def test_accuracy_figure_has_a_log_step_axis_a_keyed_chance_line_and_a_colour_per_model(monkeypatch):
    plots = connectivity_plots()
    curves = two_models([{"step": step, "val_acc": 0.5 + 0.01 * i} for i, step in enumerate((0, 100, 200, 400))])
    _, ax = drawn_figure(monkeypatch, plots, plots.plot_curves, curves)
    assert ax.get_xscale() == "log"
    chance = [line for line in ax.get_lines() if "chance" in line.get_label()]
    assert len(chance) == 1 and set(chance[0].get_ydata()) == {0.5}
    models = [line for line in ax.get_lines() if "layers" in line.get_label()]
    assert len({line.get_color() for line in models}) == 2 and min(models[0].get_xdata()) > 0
    assert "chance" in " ".join(text.get_text() for text in ax.get_legend().get_texts())
    assert_legend_outside(ax)


def test_accuracy_by_hop_draws_the_constant_answer_apart_from_the_models(monkeypatch):
    plots = connectivity_plots()
    counts = {1: 30, 2: 15, 3: 5, DISCONNECTED: 50}
    by_hop = two_models([{"hop": hop, "count": n, "accuracy": 1.0 if hop != DISCONNECTED else 0.04}
                         for hop, n in counts.items()])
    _, ax = drawn_figure(monkeypatch, plots, plots.plot_by_hop, by_hop)
    (constant,) = [line for line in ax.get_lines() if "constant answer" in line.get_label()]
    drawn = sorted(zip(constant.get_xdata(), constant.get_ydata()))  # hops 1, 2, 3, then "not connected"
    assert drawn == [(0, 1.0), (1, 1.0), (2, 1.0), (3, 0.0)] and "50% of pairs connected" in constant.get_label()
    assert any("chance" in line.get_label() for line in ax.get_lines())
    models = [line for line in ax.get_lines() if "layers" in line.get_label()]
    assert len({line.get_color() for line in models}) == 2 and len({line.get_marker() for line in models}) == 2
    assert list(models[0].get_xdata()) != list(models[1].get_xdata())  # offset: neither hides the other
    assert [label.get_text() for label in ax.get_xticklabels()][0] == "1\nn=30"
    assert_legend_outside(ax)


def test_both_gram_figures_share_one_colour_range():
    plots = connectivity_plots()
    small, large = torch.eye(3) * 0.1, torch.eye(3) * 0.3
    assert plots.gram_limit(small, large) == pytest.approx(0.09)
