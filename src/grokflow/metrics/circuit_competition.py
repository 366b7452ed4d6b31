"""Circuit competition: how much of the number embedding W_E and unembedding W_U lies in the
generalising (Fourier) subspace, how much in the memorising (per-sample gradient) subspace, and
how much in neither (after Nanda et al. 2023, "Progress measures for grokking via
mechanistic interpretability", and Varma et al. 2023, "Explaining grokking through circuit
efficiency").

M is an n × d matrix of the number rows of the op's group in its element order (groups.py: Z_p,
n = p, for x+y and x−y; the multiplicative group in discrete-log order, n = p−1, token 0 left out,
for x×y and x÷y): E from W_E or U from W_Uᵀ (fourier.number_embeddings,
fourier.number_unembeddings); m = vec(M) ∈ R^{n·d}; shares are of ‖M‖²_F.

- S_fourier: with B_K (r × n) the rows of fourier.fourier_basis(n) whose frequency is in K (the
  checkpoint's seed's own key frequencies, or every frequency 1 … ⌊n/2⌋; frequency 0, the
  constant row, never), the projector P_F = B_Kᵀ B_K acts on the token axis:
  fourier_share = ‖P_F M‖²_F / ‖M‖²_F.
- S_memo: N random training samples (torch.Generator seeded MEMO_SEED, drawn once per checkpoint
  from its train split) give per-sample gradients g_i = ∇_M CE(logits(x_i), y_i), by
  torch.func.vmap(grad); V (R × n·d) are the top R right singular vectors of G = [vec g_1; …; vec g_N]
  (the directions of largest gradient):
  memo_share = ‖V m‖² / ‖m‖².
- Union: V⊥ = orthonormal rows (SVD, singular values > RANK_TOLERANCE) of V − V P_F (the memo
  directions with their S_fourier part removed), so that S_fourier ∪ S_memo has the orthonormal
  basis rows B_K ⊗ I_d and V⊥; then
  neither_share = 1 − fourier_share − ‖V⊥ m‖² / ‖m‖²  (≤ 1 − max(fourier_share, memo_share)).
A zero M has shares 0, 0 and neither 1. All math in float64, batched over checkpoints.

Random baselines: a share of a subspace of dimension D in R^{n·d} is D/(n·d) in expectation for
a direction drawn uniformly at random, so fourier_baseline = r/n (r = 2|K| basis rows, times d
columns) and memo_baseline = R/(n·d). A share means structure only where it stands above its
baseline: at initialisation the Fourier share of all 15 frequencies of n = 31 is 30/31.
"""

import torch
from torch.func import functional_call, grad, vmap

from ..settings import CircuitCompetitionSettings
from .fourier import fourier_rows, number_embeddings, number_unembeddings
from .groups import NumberGroup, chunk_group
from .key_frequencies import read_key_frequencies, seed_frequencies
from .model_access import checkpoint_model, checkpoint_split

MATRICES = ("W_E", "W_U")
MEMO_SEED = 0
MEMO_SAMPLES = CircuitCompetitionSettings.memo_samples
MEMO_RANK = CircuitCompetitionSettings.memo_rank
RANK_TOLERANCE = 1e-10


def fourier_projection(matrices: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
    """P_F M = B_Kᵀ B_K M over the token axis (second to last) of a stack (…, p, d)."""
    return rows.T @ (rows @ matrices)


def memo_basis(gradients: torch.Tensor, rank: int) -> torch.Tensor:
    """V (N, R, n·d): the top `rank` right singular vectors of each stack of per-sample gradients
    (N, samples, n, d)."""
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
    """fourier_share, memo_share, neither_share (each (N,)) of M (N, n, d), given B_K and the
    per-sample gradients (N, samples, n, d)."""
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


def per_sample_gradients(model, tokens: torch.Tensor, labels: torch.Tensor,
                         group: NumberGroup) -> dict[str, torch.Tensor]:
    """∇_E and ∇_U (samples, n, d) of each sample's loss, by vmap(grad), the group's rows only."""
    loss = lambda W_E, W_U, x, y: embedding_loss(model, W_E, W_U, x, y)  # noqa: E731
    with torch.no_grad():
        grad_E, grad_U = vmap(grad(loss, argnums=(0, 1)), in_dims=(None, None, 0, 0))(
            model.W_E.detach(), model.W_U.detach(), tokens, labels)
    return {"W_E": number_embeddings({"W_E": grad_E}, group), "W_U": number_unembeddings({"W_U": grad_U}, group)}


def memo_samples(info, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` training samples (tokens, labels) of the checkpoint's split, drawn with MEMO_SEED."""
    split = checkpoint_split(info)
    generator = torch.Generator().manual_seed(MEMO_SEED)
    chosen = torch.randperm(len(split.train_labels), generator=generator)[:count]
    return split.train_inputs[chosen], split.train_labels[chosen]


def checkpoint_gradients(stacked, infos, count: int, group: NumberGroup) -> dict[str, torch.Tensor]:
    """Per-sample gradients of every checkpoint of the chunk, stacked: name → (N, samples, n, d)."""
    per_checkpoint = [per_sample_gradients(checkpoint_model(stacked, infos, index), *memo_samples(info, count), group)
                      for index, info in enumerate(infos)]
    return {name: torch.stack([gradients[name] for gradients in per_checkpoint]) for name in MATRICES}


def baselines(rows_K: torch.Tensor, matrices: torch.Tensor, memo_rank: int) -> dict[str, float]:
    """The shares of a random direction: fourier r/n, memo R/(n·d)."""
    n, d = matrices.shape[-2:]
    return {"fourier_baseline": rows_K.shape[0] / n, "memo_baseline": memo_rank / (n * d)}


def competition_rows(stacked, infos, args) -> list[list[dict]]:
    """For each checkpoint, one row per matrix (W_E, W_U): fourier_share, memo_share, neither_share,
    fourier_baseline, memo_baseline; S_fourier from the checkpoint's seed's key frequencies."""
    group = chunk_group(infos, args)
    key_sets = None if args.frequencies == "all" else read_key_frequencies(args.key_frequencies, group.name)
    gradients = checkpoint_gradients(stacked, infos, args.memo_samples, group)
    matrices = {"W_E": number_embeddings(stacked, group), "W_U": number_unembeddings(stacked, group)}
    memo_rank = min(args.memo_rank, args.memo_samples)
    rows: list[list[dict]] = [[] for _ in infos]
    for seed in sorted({info.seed for info in infos}):
        members = [index for index, info in enumerate(infos) if info.seed == seed]
        frequencies = None if key_sets is None else seed_frequencies(key_sets, seed, args.key_frequencies)
        rows_K = fourier_rows(group.order, frequencies)
        for name in MATRICES:
            shares = subspace_shares(matrices[name][members], rows_K, gradients[name][members], args.memo_rank)
            reference = baselines(rows_K, matrices[name], memo_rank)
            for position, index in enumerate(members):
                values = {column: float(value[position]) for column, value in shares.items()}
                rows[index].append({"matrix": name} | values | reference)
    return rows
