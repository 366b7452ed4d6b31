"""grokflow.export: the Hugging Face GPT-2 directory loaded by transformers, the TransformerLens
state dict run through TransformerLens's forward (written out below from its equations), both
compared with grokflow's logits on every input; and scripts/export.py's bad inputs."""

import copy
import importlib.util
import json
import math

import pytest
from safetensors.torch import load_file, save_file
import torch
import torch.nn.functional as F

from grokflow.checkpoints import CheckpointInfo, load_model
from grokflow.data import all_pairs
from grokflow.errors import run_main
from grokflow.export import HF_GPT2, TRANSFORMER_LENS, ExportError, export_model
from grokflow.model import GrokTransformer, ModelConfig

from conftest import REPO
from test_runs import OP, train_ci_results

VARIANT = ModelConfig(p=11, n_layers=2, d_model=16, n_heads=2, d_mlp=32, activation="silu", bias=False)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return train_ci_results(tmp_path_factory.mktemp("ci"))


@pytest.fixture(scope="module")
def trained(results):
    """The ci config's x+y seed 0 at its last step (40), and its facts."""
    return load_model(results / OP / "seed0/checkpoints/step0000040.safetensors")


def variant():
    """An untrained model without biases and with SiLU: every bias of the export is zero."""
    return GrokTransformer(VARIANT, seed=3).eval(), CheckpointInfo(OP, 3, 0, 0.5, VARIANT)


def every_input(info) -> torch.Tensor:
    return all_pairs(info.op, info.model.p)[0]


def forward(model, tokens):
    with torch.no_grad():
        return model(tokens)


def in_float64(model):
    return copy.deepcopy(model).double()


def hf_gpt2_model(directory):
    transformers = pytest.importorskip("transformers")  # the `interop` extra
    model, loading = transformers.GPT2LMHeadModel.from_pretrained(directory, output_loading_info=True)
    assert not loading["missing_keys"] and not loading["unexpected_keys"], loading
    return model.eval()


@pytest.mark.parametrize("which", ["trained", "variant"])
def test_hf_gpt2_export_gives_grokflows_logits_on_every_input(which, trained, tmp_path):
    """Equal to float32 rounding, and in float64 equal to 1e-10: the same function."""
    model, info = trained if which == "trained" else variant()
    directory = export_model(model, info, tmp_path / "gpt2", HF_GPT2)
    exported, tokens = hf_gpt2_model(directory), every_input(info)
    last_logits, expected = forward(exported, tokens).logits[:, -1], forward(model, tokens)
    print(f"{which}: max |Δlogit| over {len(tokens)} inputs = {(last_logits - expected).abs().max():.3g}")
    torch.testing.assert_close(last_logits, expected)
    exported_float64 = forward(exported.double(), tokens).logits[:, -1]
    torch.testing.assert_close(exported_float64, forward(in_float64(model), tokens), rtol=0, atol=1e-10)
    assert json.loads((directory / "config.json").read_text())["grokflow"]["step"] == info.step


def transformer_lens_logits(state: dict, config: dict, tokens: torch.Tensor) -> torch.Tensor:
    """Last-position logits of TransformerLens's HookedTransformer (LayerNorm "LN", standard
    positions, causal attention scaled by 1/√d_head, act_fn), in float64, from its equations:
    q = x W_Q + b_Q per head, pattern = softmax(q·k/√d_head) (causal), z = pattern·v,
    attn_out = Σ_h z W_O + b_O, mlp_out = act(x W_in + b_in) W_out + b_out, logits = LN(x) W_U + b_U."""
    state = {name: tensor.double() for name, tensor in state.items()}
    activation = {"relu": torch.relu, "silu": F.silu}[config["act_fn"]]
    positions = tokens.shape[1]
    causal = torch.ones(positions, positions, dtype=torch.bool).tril()

    def layer_norm(x, name):
        centred = x - x.mean(-1, keepdim=True)
        scale = (centred.square().mean(-1, keepdim=True) + config["eps"]).sqrt()
        return centred / scale * state[f"{name}.w"] + state[f"{name}.b"]

    x = state["embed.W_E"][tokens] + state["pos_embed.W_pos"][:positions]
    for layer in range(config["n_layers"]):
        attn, normalized = f"blocks.{layer}.attn", layer_norm(x, f"blocks.{layer}.ln1")
        q, k, v = (torch.einsum("bpm,hmd->bphd", normalized, state[f"{attn}.W_{n}"]) + state[f"{attn}.b_{n}"]
                   for n in "QKV")
        scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(config["d_head"])
        pattern = scores.masked_fill(~causal, float("-inf")).softmax(-1)
        z = torch.einsum("bhqk,bkhd->bqhd", pattern, v)
        x = x + torch.einsum("bqhd,hdm->bqm", z, state[f"{attn}.W_O"]) + state[f"{attn}.b_O"]
        mlp, normalized = f"blocks.{layer}.mlp", layer_norm(x, f"blocks.{layer}.ln2")
        hidden = activation(normalized @ state[f"{mlp}.W_in"] + state[f"{mlp}.b_in"])
        x = x + hidden @ state[f"{mlp}.W_out"] + state[f"{mlp}.b_out"]
    return (layer_norm(x, "ln_final") @ state["unembed.W_U"] + state["unembed.b_U"])[:, -1]


@pytest.mark.parametrize("which", ["trained", "variant"])
def test_transformer_lens_export_gives_grokflows_logits(which, trained, tmp_path):
    model, info = trained if which == "trained" else variant()
    directory = export_model(model, info, tmp_path / "tl", TRANSFORMER_LENS)
    config = json.loads((directory / "config.json").read_text())
    state = load_file(directory / "model.safetensors")
    assert state["blocks.0.attn.W_Q"].shape == (config["n_heads"], config["d_model"], config["d_head"])
    assert state["unembed.W_U"].shape == (config["d_model"], config["d_vocab_out"])
    tokens = every_input(info)
    exported = transformer_lens_logits(state, config, tokens)
    torch.testing.assert_close(exported, forward(in_float64(model), tokens), rtol=0, atol=1e-10)


def test_rmsnorm_models_are_refused(tmp_path):
    cfg = ModelConfig(p=7, n_layers=1, d_model=8, n_heads=2, d_mlp=8, norm="rmsnorm", qk_norm=True)
    with pytest.raises(ExportError, match="only LayerNorm models"):
        export_model(GrokTransformer(cfg), CheckpointInfo(OP, 0, 0, 0.5, cfg), tmp_path / "out", HF_GPT2)
    assert not (tmp_path / "out").exists()


def export_script():
    spec = importlib.util.spec_from_file_location("export_script", REPO / "scripts/export.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_export(*argv) -> str | None:
    """scripts/export.py as the command line runs it: None on success, else its one-line message."""
    try:
        run_main(lambda: export_script().main([str(arg) for arg in argv]))
    except SystemExit as exit_:
        return exit_.code
    return None


def test_cli_exports_by_op_seed_and_step_and_replaces_only_with_force(results, tmp_path):
    target = tmp_path / "export"
    assert run_export(results, "--op", OP, "--seed", 1, "--step", 10, "--format", HF_GPT2, "-o", target) is None
    before = (target / "model.safetensors").read_bytes()
    message = run_export(results, "--op", OP, "--step", 12, "--format", HF_GPT2, "-o", target)
    assert message == f"error: {target} exists; nothing was written (--force replaces an earlier export)"
    assert (target / "model.safetensors").read_bytes() == before
    checkpoint = results / OP / "seed1/checkpoints/step0000012.safetensors"
    assert run_export(checkpoint, "--format", HF_GPT2, "-o", target, "--force") is None
    assert json.loads((target / "config.json").read_text())["grokflow"]["step"] == 12
    assert sorted(path.name for path in tmp_path.iterdir()) == ["export"]  # no staging folder left


def test_cli_bad_inputs_are_one_line_errors(results, tmp_path):
    not_safetensors = tmp_path / "notes.safetensors"
    not_safetensors.write_text("not a checkpoint")
    foreign = tmp_path / "foreign.safetensors"
    save_file({"weight": torch.zeros(2)}, foreign)
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    cases = [
        ((not_safetensors, "--format", HF_GPT2, "-o", tmp_path / "a"), "is not a safetensors file"),
        ((foreign, "--format", HF_GPT2, "-o", tmp_path / "a"), "is not a grokflow checkpoint"),
        ((results, "--op", OP, "--step", 7, "--format", HF_GPT2, "-o", tmp_path / "a"),
         "has no checkpoint at step 7"),
        ((foreign.with_name("absent.safetensors"), "--format", HF_GPT2, "-o", tmp_path / "a"), "does not exist"),
        ((results, "--op", OP, "--format", TRANSFORMER_LENS, "-o", folder, "--force"), "is not an export"),
    ]
    for argv, expected in cases:
        message = run_export(*argv)
        assert message.startswith("error: ") and expected in message and "\n" not in message, message
    assert not (tmp_path / "a").exists() and (folder / "keep.txt").read_text() == "mine"


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        export_script().parse_args(["--help"])
    assert exit_.value.code == 0 and "--force" in capsys.readouterr().out
