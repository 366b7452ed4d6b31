"""Export a grokflow model to the field's tools: a Hugging Face GPT-2 model directory, or a
TransformerLens-named state dict with its HookedTransformerConfig.

Either export is a directory of `config.json` and `model.safetensors` (whose metadata carries the
checkpoint's facts under the key "grokflow", as a checkpoint's do), written in full beside the
target and then renamed into place; an existing target is replaced only with `force`, and only
when it is itself such an export.

Hugging Face GPT-2 (`transformers.GPT2LMHeadModel.from_pretrained(dir)`). The grokking model is
GPT-2's architecture with other choices: pre-LayerNorm blocks (ln_1, attention, ln_2, MLP), learned
positions, a final LayerNorm, scores q·k/√d_head, a causal softmax. Its MLP activation is ReLU
(`activation_function="relu"`), its unembedding is not tied to W_E (`tie_word_embeddings=False`;
lm_head.weight = W_Uᵀ, no bias, as GPT-2's), and it has no query, key and value biases, so
c_attn's bias is zero. GPT-2's Conv1D computes x @ weight + bias with weight (in, out): c_attn's
weight is [W_Q | W_K | W_V], each with its heads side by side (d_model × heads·d_head), which is
how GPT-2 splits its output into heads; c_proj's is W_O with the heads stacked (heads·d_head ×
d_model); the MLP's c_fc and c_proj are W_in and W_out. A model built without biases exports
zero biases (LayerNorms included). Logits at the last position equal grokflow's to float rounding
(tests/test_export.py).

TransformerLens (`HookedTransformer(HookedTransformerConfig(**config))`, then
`load_state_dict(state_dict, strict=False)`: the exported dict holds the weights, not TL's buffers
such as the attention mask). grokflow's weights already have TL's layout; the names gain TL's
module prefixes (embed.W_E, pos_embed.W_pos, blocks.{l}.attn.W_Q, blocks.{l}.mlp.W_in,
unembed.W_U, …), LayerNorms become ln1.w / ln1.b, and the biases grokflow lacks (b_Q, b_K, b_V,
b_U) are zero. Reference: TransformerLens's HookedTransformer and its GPT-2 weight conversion.

Only LayerNorm models without QK-norm export (the grokking model); the RMSNorm / QK-norm variant
of the low-rank decay study has no GPT-2 counterpart and is refused.
"""

from contextlib import contextmanager
import json
import os
import secrets
from pathlib import Path
import shutil
import tempfile

from safetensors.torch import save_file
import torch

from .checkpoints import CheckpointInfo
from .errors import GrokflowError
from .io import atomic_path
from .model import GrokTransformer

HF_GPT2, TRANSFORMER_LENS = "hf-gpt2", "transformer-lens"
FORMATS = (HF_GPT2, TRANSFORMER_LENS)
EXPORT_FILES = frozenset({"config.json", "model.safetensors"})


class ExportError(GrokflowError):
    """A model that cannot be exported, or a target that must not be overwritten."""


def check_exportable(model: GrokTransformer) -> None:
    """An ExportError unless the model is the LayerNorm transformer without QK-norm, with d_model
    split evenly over the heads (as GPT-2 splits it)."""
    cfg = model.cfg
    if cfg.norm != "layernorm" or cfg.qk_norm:
        raise ExportError(f"only LayerNorm models without QK-norm export; this one has norm={cfg.norm}, "
                          f"qk_norm={cfg.qk_norm}")
    if cfg.n_heads * cfg.d_head != cfg.d_model:
        raise ExportError(f"d_model {cfg.d_model} is not divisible by n_heads {cfg.n_heads}")


def layer_norm(module: torch.nn.LayerNorm) -> tuple[torch.Tensor, torch.Tensor]:
    """A LayerNorm's weight and bias (zero for one built without a bias)."""
    bias = torch.zeros_like(module.weight) if module.bias is None else module.bias
    return module.weight.detach(), bias.detach()


def bias_or_zero(bias: torch.Tensor | None, size: int) -> torch.Tensor:
    return torch.zeros(size) if bias is None else bias.detach()


def hf_gpt2_config(model: GrokTransformer, info: CheckpointInfo) -> dict:
    """config.json of the GPT-2 model directory (GPT2Config's keys), with the checkpoint's facts
    under "grokflow"."""
    cfg = model.cfg
    return {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2",
        "vocab_size": cfg.vocab, "n_positions": cfg.n_ctx, "n_embd": cfg.d_model, "n_layer": cfg.n_layers,
        "n_head": cfg.n_heads, "n_inner": cfg.d_mlp, "activation_function": cfg.activation,
        "layer_norm_epsilon": model.ln_final.eps, "scale_attn_weights": True,
        "scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0,
        "tie_word_embeddings": False, "bos_token_id": None, "eos_token_id": None, "dtype": "float32",
        "grokflow": json.loads(info.to_metadata()["grokflow"]),
    }


def hf_gpt2_tensors(model: GrokTransformer) -> dict[str, torch.Tensor]:
    """GPT2LMHeadModel's state dict of the model (see the module docstring for the mapping)."""
    d_model = model.cfg.d_model
    tensors = {"transformer.wte.weight": model.W_E, "transformer.wpe.weight": model.W_pos,
               "lm_head.weight": model.W_U.T}
    tensors["transformer.ln_f.weight"], tensors["transformer.ln_f.bias"] = layer_norm(model.ln_final)
    for layer, block in enumerate(model.blocks):
        prefix = f"transformer.h.{layer}"
        tensors[f"{prefix}.ln_1.weight"], tensors[f"{prefix}.ln_1.bias"] = layer_norm(block.ln1)
        tensors[f"{prefix}.ln_2.weight"], tensors[f"{prefix}.ln_2.bias"] = layer_norm(block.ln2)
        tensors[f"{prefix}.attn.c_attn.weight"] = torch.cat(
            [weight.permute(1, 0, 2).flatten(1) for weight in (block.W_Q, block.W_K, block.W_V)], dim=1)
        tensors[f"{prefix}.attn.c_attn.bias"] = torch.zeros(3 * d_model)
        tensors[f"{prefix}.attn.c_proj.weight"] = block.W_O.flatten(0, 1)
        tensors[f"{prefix}.attn.c_proj.bias"] = bias_or_zero(block.b_O, d_model)
        tensors[f"{prefix}.mlp.c_fc.weight"] = block.W_in
        tensors[f"{prefix}.mlp.c_fc.bias"] = bias_or_zero(block.b_in, model.cfg.d_mlp)
        tensors[f"{prefix}.mlp.c_proj.weight"] = block.W_out
        tensors[f"{prefix}.mlp.c_proj.bias"] = bias_or_zero(block.b_out, d_model)
    return tensors


def transformer_lens_config(model: GrokTransformer) -> dict:
    """HookedTransformerConfig's keyword arguments for the model."""
    cfg = model.cfg
    return {"n_layers": cfg.n_layers, "d_model": cfg.d_model, "n_ctx": cfg.n_ctx, "d_head": cfg.d_head,
            "n_heads": cfg.n_heads, "d_mlp": cfg.d_mlp, "d_vocab": cfg.vocab, "d_vocab_out": cfg.vocab,
            "act_fn": cfg.activation, "normalization_type": "LN", "eps": model.ln_final.eps,
            "positional_embedding_type": "standard", "attn_only": False, "default_prepend_bos": False}


def transformer_lens_tensors(model: GrokTransformer) -> dict[str, torch.Tensor]:
    """HookedTransformer's state dict of the model (weights only; see the module docstring)."""
    cfg = model.cfg
    tensors = {"embed.W_E": model.W_E, "pos_embed.W_pos": model.W_pos, "unembed.W_U": model.W_U,
               "unembed.b_U": torch.zeros(cfg.vocab)}
    tensors["ln_final.w"], tensors["ln_final.b"] = layer_norm(model.ln_final)
    for layer, block in enumerate(model.blocks):
        prefix = f"blocks.{layer}"
        tensors[f"{prefix}.ln1.w"], tensors[f"{prefix}.ln1.b"] = layer_norm(block.ln1)
        tensors[f"{prefix}.ln2.w"], tensors[f"{prefix}.ln2.b"] = layer_norm(block.ln2)
        for name in ("W_Q", "W_K", "W_V", "W_O"):
            tensors[f"{prefix}.attn.{name}"] = getattr(block, name)
        for name in ("b_Q", "b_K", "b_V"):
            tensors[f"{prefix}.attn.{name}"] = torch.zeros(cfg.n_heads, cfg.d_head)
        tensors[f"{prefix}.attn.b_O"] = bias_or_zero(block.b_O, cfg.d_model)
        tensors[f"{prefix}.mlp.W_in"], tensors[f"{prefix}.mlp.W_out"] = block.W_in, block.W_out
        tensors[f"{prefix}.mlp.b_in"] = bias_or_zero(block.b_in, cfg.d_mlp)
        tensors[f"{prefix}.mlp.b_out"] = bias_or_zero(block.b_out, cfg.d_model)
    return tensors


def export_contents(model: GrokTransformer, info: CheckpointInfo, export_format: str) -> tuple[dict, dict]:
    """The (tensors, config) of an export format."""
    if export_format == HF_GPT2:
        return hf_gpt2_tensors(model), hf_gpt2_config(model, info)
    if export_format == TRANSFORMER_LENS:
        return transformer_lens_tensors(model), transformer_lens_config(model)
    raise ExportError(f"unknown export format {export_format!r}; expected one of {', '.join(FORMATS)}")


def export_model(model: GrokTransformer, info: CheckpointInfo, target, export_format: str, force: bool = False) -> Path:
    """Write the model as an `export_format` directory at `target` (see the module docstring)."""
    check_exportable(model)
    tensors, config = export_contents(model, info, export_format)
    tensors = {name: tensor.detach().float().contiguous().clone() for name, tensor in tensors.items()}
    with staged_directory(target, force) as staging:
        with atomic_path(staging / "config.json") as tmp:
            tmp.write_text(json.dumps(config, indent=2) + "\n")
        with atomic_path(staging / "model.safetensors") as tmp:
            save_file(tensors, str(tmp), metadata={"format": "pt"} | info.to_metadata())
    return Path(target)


@contextmanager
def staged_directory(target, force: bool):
    """Yield an empty folder beside `target`; on success it replaces `target` (renamed into place).

    An existing target is an ExportError unless `force`, and even then unless it is an export
    (a folder holding only config.json and model.safetensors): --force never deletes anything else.
    """
    target = Path(target)
    if target.exists() or target.is_symlink():
        check_replaceable(target, force)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
    staging.mkdir()  # mode 0777 less the umask, as any folder the user makes (mkdtemp's is 0700)
    try:
        yield staging
        replace_directory(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def check_replaceable(target: Path, force: bool) -> None:
    if not force:
        raise ExportError(f"{target} exists; nothing was written (--force replaces an earlier export)")
    if target.is_symlink() or not target.is_dir() or not {p.name for p in target.iterdir()} <= EXPORT_FILES:
        raise ExportError(f"{target} exists and is not an export (a folder of {' and '.join(sorted(EXPORT_FILES))}); "
                          "not replacing it")


def replace_directory(staging: Path, target: Path) -> None:
    """Rename `staging` to `target`, moving an existing target aside first and deleting it after:
    a reader sees the old export or the new one, never a mixture."""
    if not target.exists():
        os.replace(staging, target)
        return
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".old"))
    os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old)
