"""Circuit competition: how much of the number embedding W_E and unembedding W_U lies in the
generalising (Fourier) subspace, how much in the memorising (per-sample gradient) subspace, and
how much in neither (issue 5 item 3; after Nanda et al. 2023, "Progress measures for grokking via
mechanistic interpretability", and Varma et al. 2023, "Explaining grokking through circuit
efficiency").

M is a p × d matrix of number rows: E = W_E[:p] or U = W_U[:, :p]ᵀ (fourier.number_embeddings,
fourier.number_unembeddings); m = vec(M) ∈ R^{p·d}; shares are of ‖M‖²_F.

- S_fourier: with B_K (r × p) the rows of fourier.fourier_basis(p) whose frequency is in K (the
  key frequencies, or every frequency 1 … ⌊p/2⌋; frequency 0, the constant row, never), the
  projector P_F = B_Kᵀ B_K acts on the token axis:
  fourier_share = ‖P_F M‖²_F / ‖M‖²_F.
- S_memo: n random training samples (torch.Generator seeded MEMO_SEED, drawn once per checkpoint
  from its train split) give per-sample gradients g_i = ∇_M CE(logits(x_i), y_i), by
  torch.func.vmap(grad); V (R × p·d) are the top R right singular vectors of G = [vec g_1; …; vec g_n]
  (the directions of largest gradient):
  memo_share = ‖V m‖² / ‖m‖².
- Union: V⊥ = orthonormal rows (SVD, singular values > RANK_TOLERANCE) of V − V P_F (the memo
  directions with their S_fourier part removed), so that S_fourier ∪ S_memo has the orthonormal
  basis rows B_K ⊗ I_d and V⊥; then
  neither_share = 1 − fourier_share − ‖V⊥ m‖² / ‖m‖²  (≤ 1 − max(fourier_share, memo_share)).
A zero M has shares 0, 0 and neither 1. All math in float64, batched over checkpoints.
"""

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch
from torch.func import functional_call, grad, vmap

from ..errors import GrokflowError
from .fourier import fourier_basis, number_embeddings, number_unembeddings
from .model_access import checkpoint_model, checkpoint_split

MATRICES = ("W_E", "W_U")
MEMO_SEED = 0
MEMO_SAMPLES = 64
MEMO_RANK = 8
RANK_TOLERANCE = 1e-10


def read_key_frequencies(path) -> list[int]:
    """The `frequency` column of a key_frequencies.csv, without frequency 0."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"key-frequencies CSV {path} does not exist")
    table = pd.read_csv(path)
    if "frequency" not in table.columns:
        raise GrokflowError(f"{path} has no 'frequency' column")
    return sorted({int(k) for k in table["frequency"] if k != 0})


def fourier_rows(p: int, frequencies: Sequence[int] | None) -> torch.Tensor:
    """B_K (r × p): the real Fourier basis rows of the given frequencies (None: every k ≠ 0)."""
    basis, row_frequencies = fourier_basis(p)
    wanted = row_frequencies != 0
    if frequencies is not None:
        wanted &= torch.isin(row_frequencies, torch.tensor(list(frequencies), dtype=row_frequencies.dtype))
    return basis[wanted]


def fourier_projection(matrices: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """P_F M = B_Kᵀ B_K M over the token axis (second to last) of a stack (…, p, d)."""
    return rows.T @ (rows @ matrices)


def memo_basis(gradients: torch.Tensor, rank: int) -> torch.Tensor:
    """V (N, R, p·d): the top `rank` right singular vectors of each stack of per-sample gradients
    (N, n, p, d)."""
    _, _, right = torch.linalg.svd(gradients.flatten(-2), full_matrices=False)
    return right[:, :rank]


def squared_norm_in(basis: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    """‖basis · v‖² for orthonormal basis rows (N, R, D) and vectors (N, D): (N,)."""
    return torch.einsum("nrd,nd->nr", basis, vectors).square().sum(dim=-1)


def orthogonal_memo_basis(memo: torch.Tensor, rows: torch.Tensor, shape) -> torch.Tensor:
    """V⊥: orthonormal rows spanning V − V P_F, zeroed where that direction vanishes."""
    residual = memo - fourier_projection(memo.unflatten(-1, shape), rows).flatten(-2)
    _, sigma, right = torch.linalg.svd(residual, full_matrices=False)
    return right * (sigma > RANK_TOLERANCE).unsqueeze(-1)


def subspace_shares(matrices: torch.Tensor, rows: torch.Tensor, gradients: torch.Tensor,
                    rank: int) -> dict[str, torch.Tensor]:
    """fourier_share, memo_share, neither_share (each (N,)) of M (N, p, d), given B_K and the
    per-sample gradients (N, n, p, d)."""
    matrices = matrices.double()
    vectors = matrices.flatten(-2)
    total = vectors.square().sum(dim=-1)
    total = torch.where(total > 0, total, 1.0)
    memo = memo_basis(gradients.double(), rank)
    fourier = fourier_projection(matrices, rows).flatten(-2).square().sum(dim=-1) / total
    beyond_fourier = squared_norm_in(orthogonal_memo_basis(memo, rows, matrices.shape[-2:]), vectors) / total
    return {"fourier_share": fourier, "memo_share": squared_norm_in(memo, vectors) / total,
            "neither_share": 1 - fourier - beyond_fourier}


def embedding_loss(model, W_E: torch.Tensor, W_U: torch.Tensor, tokens: torch.Tensor,
                   label: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of one sample (tokens (n_ctx,), label ()) as a function of W_E and W_U: the
    model's own forward pass with those two weights swapped in."""
    logits = functional_call(model, {"W_E": W_E, "W_U": W_U}, (tokens[None],))
    return torch.nn.functional.cross_entropy(logits, label[None])


def per_sample_gradients(model, tokens: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
    """∇_E and ∇_U (n, p, d) of each sample's loss, by vmap(grad), number rows only."""
    p = model.cfg.p
    loss = lambda W_E, W_U, x, y: embedding_loss(model, W_E, W_U, x, y)  # noqa: E731
    with torch.no_grad():
        grad_E, grad_U = vmap(grad(loss, argnums=(0, 1)), in_dims=(None, None, 0, 0))(
            model.W_E.detach(), model.W_U.detach(), tokens, labels)
    return {"W_E": number_embeddings({"W_E": grad_E}, p), "W_U": number_unembeddings({"W_U": grad_U}, p)}


def memo_samples(info, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` training samples (tokens, labels) of the checkpoint's split, drawn with MEMO_SEED."""
    split = checkpoint_split(info)
    generator = torch.Generator().manual_seed(MEMO_SEED)
    chosen = torch.randperm(len(split.train_labels), generator=generator)[:count]
    return split.train_inputs[chosen], split.train_labels[chosen]


def checkpoint_gradients(stacked, infos, count: int) -> dict[str, torch.Tensor]:
    """Per-sample gradients of every checkpoint of the chunk, stacked: name → (N, n, p, d)."""
    per_checkpoint = [per_sample_gradients(checkpoint_model(stacked, infos, index), *memo_samples(info, count))
                      for index, info in enumerate(infos)]
    return {name: torch.stack([gradients[name] for gradients in per_checkpoint]) for name in MATRICES}


def competition_rows(stacked, infos, args) -> list[list[dict]]:
    """For each checkpoint, one row per matrix (W_E, W_U): fourier_share, memo_share, neither_share."""
    p = infos[0].model.p
    frequencies = None if args.frequencies == "all" else read_key_frequencies(args.key_frequencies)
    rows_K = fourier_rows(p, frequencies)
    gradients = checkpoint_gradients(stacked, infos, args.memo_samples)
    matrices = {"W_E": number_embeddings(stacked, p), "W_U": number_unembeddings(stacked, p)}
    rows: list[list[dict]] = [[] for _ in infos]
    for name in MATRICES:
        shares = subspace_shares(matrices[name], rows_K, gradients[name], args.memo_rank)
        for index in range(len(infos)):
            rows[index].append({"matrix": name} | {column: float(value[index]) for column, value in shares.items()})
    return rows
