import os
import shutil
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

from grokflow.checkpoints import load_checkpoint, load_model
from grokflow.data import train_test_split
from grokflow.model import ModelConfig
from grokflow.schedule import checkpoint_steps
from grokflow.training import OptimConfig, Run, StackTrainer, TrainingDiverged, TrainingJob

from conftest import REPO, step_stack_and_singles

CFG = ModelConfig(p=11, n_layers=1, d_model=16, n_heads=2, d_mlp=32)
TRAIN_ARGS = ["--ops", "x-y", "--seeds", "1", "--p", "11", "--train-fraction", "0.5", "--steps", "600",
              "--n-layers", "1", "--d-model", "16", "--n-heads", "2", "--d-mlp", "32", "--lr", "3e-3",
              "--per-decade", "10", "--threads", "1"]


def train_command(out, save_every_s):
    return [sys.executable, str(REPO / "scripts/train.py"), *TRAIN_ARGS, "--out-template", str(out),
            "--state", str(out / "train_state.pt"), "--save-every-s", str(save_every_s)]


def test_stack_of_two_equals_two_single_runs():
    runs = [Run("x+y", 0, 0.5, CFG), Run("x+y", 1, 0.5, CFG)]
    stack = StackTrainer(runs, OptimConfig(lr=3e-3))
    singles = [StackTrainer([run], OptimConfig(lr=3e-3)) for run in runs]
    step_stack_and_singles(stack, singles)


def test_stack_of_ops_with_padded_splits_equals_single_runs():
    """x÷y has p(p−1) pairs, x+y p²: the smaller split is padded, and each model must still
    follow exactly the trajectory of its own single-model run, its loss and accuracy too."""
    runs = [Run("x+y", 0, 0.5, CFG), Run("x÷y", 1, 0.5, CFG), Run("x×y", 2, 0.5, CFG)]
    stack = StackTrainer(runs, OptimConfig(lr=3e-3))
    assert stack.train_data.weights is not None
    singles = [StackTrainer([run], OptimConfig(lr=3e-3)) for run in runs]
    step_stack_and_singles(stack, singles)
    stacked_metrics = stack.evaluate()
    for index, single in enumerate(singles):
        for name, values in single.evaluate().items():
            torch.testing.assert_close(stacked_metrics[name][index], values[0], rtol=1e-5, atol=1e-6)


def test_compiled_stack_equals_eager_single_runs():
    """torch.compile of the forward and backward pass changes the kernels, not the science: a
    compiled stack of padded splits follows each model's eager single-model trajectory."""
    runs = [Run("x+y", 0, 0.5, CFG), Run("x÷y", 1, 0.5, CFG)]
    stack = StackTrainer(runs, OptimConfig(lr=3e-3), compiled=True)
    singles = [StackTrainer([run], OptimConfig(lr=3e-3)) for run in runs]
    step_stack_and_singles(stack, singles)


def test_training_on_several_threads_is_deterministic():
    """Two trainings of one config on 4 CPU threads end in bitwise the same weights (the full
    config trains on 4 threads). The embedding's gradient, a sum of many rows into few, was
    accumulated by `index_put_` in an order that varied between runs."""
    run = Run("x÷y", 0, 0.7, ModelConfig(p=31, n_layers=2, d_model=64, n_heads=4, d_mlp=256))
    threads = torch.get_num_threads()
    torch.set_num_threads(4)
    try:
        trainers = [StackTrainer([run], OptimConfig()) for _ in range(2)]
        for trainer in trainers:
            for _ in range(30):
                trainer.train_step()
    finally:
        torch.set_num_threads(threads)
    for name, tensor in trainers[0].model_tensors(0).items():
        assert torch.equal(trainers[1].model_tensors(0)[name], tensor), name


def test_model_tensors_are_a_snapshot_that_later_steps_leave_alone():
    """The background checkpoint writer reads them while training goes on."""
    trainer = StackTrainer([Run("x+y", 0, 0.5, CFG)], OptimConfig(lr=3e-3))
    snapshot = trainer.model_tensors(0)
    before = {name: tensor.clone() for name, tensor in snapshot.items()}
    trainer.train_step()
    assert all(torch.equal(snapshot[name], before[name]) for name in before)
    assert not all(torch.equal(trainer.model_tensors(0)[name], before[name]) for name in before)


def test_training_job_writes_schedule_and_metrics(tmp_path):
    schedule = checkpoint_steps(30, 5, [10])
    job = TrainingJob([Run("x×y", 2, 0.5, CFG)], OptimConfig(), 30, schedule, [tmp_path], tmp_path / "state.pt")
    job.run()
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert names == [f"step{s:07d}.safetensors" for s in schedule]
    metrics = pd.read_csv(tmp_path / "metric.csv")
    assert list(metrics.columns) == ["seed", "step", "train_loss", "train_acc", "test_loss", "test_acc"]
    assert metrics["step"].tolist() == schedule and set(metrics["seed"]) == {2}
    assert not (tmp_path / "state.pt").exists() and not (tmp_path / "partial").exists()
    model, info = load_model(tmp_path / "checkpoints/step0000030.safetensors")
    assert (info.op, info.seed, info.step, info.model) == ("x×y", 2, 30, CFG)
    split = train_test_split("x×y", 11, 2, 0.5)
    accuracy = (model(split.test_inputs).argmax(-1) == split.test_labels).float().mean().item()
    assert accuracy == pytest.approx(metrics["test_acc"].iloc[-1], abs=1e-6)
    tensors, _ = load_checkpoint(tmp_path / "checkpoints/step0000030.safetensors")
    assert set(tensors) == set(model.state_dict())


def test_nan_loss_stops_with_the_step_and_keeps_checkpoints(tmp_path):
    schedule = checkpoint_steps(50, 5)
    job = TrainingJob([Run("x+y", 0, 0.5, CFG)], OptimConfig(), 50, schedule, [tmp_path], tmp_path / "state.pt")
    step = job.trainer.train_step

    def poisoned_step():
        if job.trainer.step == 17:
            with torch.no_grad():
                job.trainer.params["W_U"].fill_(float("nan"))
        return step()

    job.trainer.train_step = poisoned_step
    detected = min(s for s in schedule if s > 17)
    last_good = max(s for s in schedule if s <= 17)
    with pytest.raises(TrainingDiverged, match=f"became nan between step {last_good} and step {detected}"):
        job.run()
    kept = sorted(p.name for p in (tmp_path / "partial").iterdir())
    assert kept == [f"step{s:07d}.safetensors" for s in schedule if s <= 17]


def test_train_script_reports_divergence_without_traceback(tmp_path):
    command = train_command(tmp_path, 60)
    command[command.index("3e-3")] = "1e30"
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode == 0:
        pytest.skip("this learning rate did not diverge on this platform")
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: training loss of x-y seed 1 became")


def test_kill_at_any_point_and_resume_is_bitwise_identical(tmp_path):
    reference, killed = tmp_path / "reference", tmp_path / "killed"
    subprocess.run(train_command(reference, 60), check=True, capture_output=True)
    for delay in (0.0, 0.3, 0.7):
        process = subprocess.Popen(train_command(killed, 0.05), stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while not (killed / "train_state.pt").exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(delay)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert (killed / "train_state.pt").exists(), "the run finished before it could be killed"
    subprocess.run(train_command(killed, 0.05), check=True, capture_output=True)
    final = "checkpoints/step0000600.safetensors"
    assert (killed / final).read_bytes() == (reference / final).read_bytes()
    for name in sorted(os.listdir(reference / "checkpoints")):
        assert (killed / "checkpoints" / name).read_bytes() == (reference / "checkpoints" / name).read_bytes()
    assert (killed / "metric.csv").read_text() == (reference / "metric.csv").read_text()


def test_train_script_stack_writes_what_single_runs_write(tmp_path):
    """One job over --ops × --seeds writes, per run, the files of that run's own job."""
    def train(ops, seeds, root):
        args = list(TRAIN_ARGS)
        args[args.index("600")] = "40"
        args[1:4] = [*ops, "--seeds", *seeds]
        subprocess.run([sys.executable, str(REPO / "scripts/train.py"), *args,
                        "--out-template", str(root / "{op}/seed{seed}"), "--state", str(root / "state.pt")],
                       check=True, capture_output=True)

    train(["x+y", "x÷y"], ["0", "1"], tmp_path / "stack")
    for op in ("x+y", "x÷y"):
        for seed in ("0", "1"):
            train([op], [seed], tmp_path / "single")
            stacked, single = tmp_path / "stack" / op / f"seed{seed}", tmp_path / "single" / op / f"seed{seed}"
            assert sorted(os.listdir(stacked / "checkpoints")) == sorted(os.listdir(single / "checkpoints"))
            pd.testing.assert_frame_equal(pd.read_csv(stacked / "metric.csv"), pd.read_csv(single / "metric.csv"),
                                          rtol=1e-4)
            final = "checkpoints/step0000040.safetensors"
            for name, tensor in load_checkpoint(single / final)[0].items():
                torch.testing.assert_close(load_checkpoint(stacked / final)[0][name], tensor, rtol=1e-4, atol=1e-5)


def test_state_of_another_configuration_is_not_resumed(tmp_path):
    schedule = checkpoint_steps(20, 5)
    first = TrainingJob([Run("x+y", 0, 0.5, CFG)], OptimConfig(lr=1e-3), 20, schedule, [tmp_path / "a"], tmp_path / "state.pt")
    first.resume()
    for _ in range(7):
        first.trainer.train_step()
    first.save_state()
    changed = TrainingJob([Run("x+y", 0, 0.5, CFG)], OptimConfig(lr=2e-3), 20, schedule, [tmp_path / "b"], tmp_path / "state.pt")
    changed.resume()
    assert changed.trainer.step == 0 and changed.rows == []
    same = TrainingJob([Run("x+y", 0, 0.5, CFG)], OptimConfig(lr=1e-3), 20, schedule, [tmp_path / "a"], tmp_path / "state.pt")
    same.resume()
    assert same.trainer.step == 7


@pytest.mark.parametrize("flags, message", [
    (["--ops", "x÷y", "--p", "12"], "error: x÷y needs a prime modulus (y⁻¹ mod p), but p = 12"),
    (["--train-fraction", "1.5"], "error: train fraction 1.5 leaves an empty train or test set"),
])
def test_train_script_refuses_bad_arguments_in_one_line(tmp_path, flags, message):
    command = train_command(tmp_path, 60)
    for flag, value in zip(flags[::2], flags[1::2]):
        command[command.index(flag) + 1] = value
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 1 and result.stderr.strip().splitlines() == [message]


def test_metric_script_refuses_a_file_that_is_not_a_checkpoint(tmp_path):
    bogus = tmp_path / "notes.safetensors"
    bogus.write_text("not a checkpoint")
    for path, message in ((bogus, "is not a safetensors file"), (tmp_path / "missing.safetensors", "does not exist")):
        result = subprocess.run([sys.executable, str(REPO / "scripts/metrics/effective_rank.py"), str(path),
                                 "-o", str(tmp_path / "out.csv")], capture_output=True, text=True)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith("error: ") and message in result.stderr


def test_a_job_killed_while_publishing_resumes_and_publishes_again(tmp_path, monkeypatch):
    import grokflow.training as training

    def make_job():
        return TrainingJob([Run("x-y", 0, 0.5, CFG)], OptimConfig(), 25, checkpoint_steps(25, 5), [tmp_path],
                           tmp_path / "state.pt")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "write_csv", killed)
    with pytest.raises(KeyboardInterrupt):
        make_job().run()
    shutil.rmtree(tmp_path / "checkpoints")  # what Snakemake does to an incomplete job's outputs
    monkeypatch.undo()
    make_job().run()
    assert len(list((tmp_path / "checkpoints").iterdir())) == len(checkpoint_steps(25, 5))
    assert (tmp_path / "metric.csv").exists() and not (tmp_path / "partial").exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("compiled", [False, True])
def test_cuda_graph_engine_follows_the_cpu_trajectory(compiled):
    """The GPU engine (eager warm-up, then CUDA-graph replays of a fused AdamW step, with and
    without torch.compile) against the CPU trainer: same models after 20 steps, to float32
    tolerance."""
    runs = [Run("x+y", 0, 0.5, CFG), Run("x÷y", 1, 0.5, CFG)]
    gpu = StackTrainer(runs, OptimConfig(lr=3e-3), device="cuda", compiled=compiled)
    cpu = StackTrainer(runs, OptimConfig(lr=3e-3))
    for _ in range(20):
        gpu.train_step()
        cpu.train_step()
    assert gpu._graph is not None
    for index in range(len(runs)):
        for name, tensor in cpu.model_tensors(index).items():
            torch.testing.assert_close(gpu.model_tensors(index)[name], tensor, rtol=1e-3, atol=1e-4)
