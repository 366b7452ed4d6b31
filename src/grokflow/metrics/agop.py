"""Input-gradient AGOP and circulant scores of the number embeddings.

AGOP (average gradient outer product; Radhakrishnan et al. 2024, "Mechanism for feature learning
in neural networks and backpropagation-free machine learning models", Science). For a sample
(x, y) with label c, let v = [e_x ; e_y] ∈ R^{2d} be the input embeddings W_E[x], W_E[y] at
positions 0 and 1 and g = ∂ logit_c / ∂v. Over the N samples of a split,

    AGOP = (1/N) Σ g gᵀ  ((2d)×(2d)),   AGOP_xx = AGOP[:d, :d],   AGOP_yy = AGOP[d:, d:].

Per block, with eigenvalues λ_i ≥ 0 and q_i = λ_i / Σ_j λ_j: effective rank exp(−Σ q_i log q_i)
(Roy & Vetterli 2007; `effective_rank`, whose singular values of a PSD matrix are its
eigenvalues) and top-eigenvalue share λ_max / Σ λ (NaN for a zero block).

Circulant scores of a p×p matrix A (Mallinar et al. 2024, "Emergence in non-neural models:
grokking modular arithmetic via average gradient outer product"). A circulant matrix
A[i, j] = c[(j − i) mod p] has the 2-D DFT F(k1, k2) = Σ_{i,j} A[i, j] e^{−2πi(k1·i + k2·j)/p}
= p·ĉ(k2)·[k1 + k2 ≡ 0 mod p], so it lives on the p cells (k, −k mod p), k = 0 … p−1:

    circulant score     = Σ_k |F(k, −k)|² / Σ_{k1,k2} |F(k1, k2)|²   (1 for a circulant, ≈ 1/p at random);
    circulant deviation = Σ_j Var_i(S(A)[i, j]) / ‖A‖_F²,  S(A)[i, j] = A[i, (i + j) mod p]

(row i shifted left by i; population variance over i; 0 for a circulant, about (p − 1)/p² for a
matrix of i.i.d. entries, so it is not a [0, 1] scale). They are applied to
the Gram matrix G = E Eᵀ and to the pulled-back AGOP E·AGOP_xx·Eᵀ, E = W_E's number rows in the
element order of the op's group (groups.py): "circulant" means invariant under the group's
generator, x ↦ x+1 in Z_p for x+y and x−y, x ↦ g·x on the p−1 nonzero numbers (discrete-log
order, token 0 left out) for x×y and x÷y, so p above is the group's order n.
Every circulant function batches over leading axes.
"""

import math

import torch
from torch.func import grad

from .effective_rank import effective_rank
from .fourier import number_embeddings
from .groups import chunk_group
from .model_access import checkpoint_model, checkpoint_split

BLOCKS = ("full", "x", "y")
SPLITS = ("train", "test")


def input_gradients(function, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """∂ f_i / ∂v_i for every sample i, where function(inputs, targets) = (f_1 … f_N) is row-wise
    (f_i depends on row i alone): then ∂(Σ_j f_j)/∂v_i = ∂f_i/∂v_i, so one batched backward pass
    gives every per-sample gradient, (N, dim), with the batch's big matrix products."""
    return grad(lambda batch: function(batch, targets).sum())(inputs)


def gradient_outer_product(gradients: torch.Tensor) -> torch.Tensor:
    """AGOP = (1/N) Σ g gᵀ of per-sample gradients (N, dim)."""
    return gradients.mT @ gradients / gradients.shape[-2]


def agop_blocks(agop: torch.Tensor) -> dict[str, torch.Tensor]:
    """The whole (2d)×(2d) AGOP and its x and y diagonal blocks."""
    d = agop.shape[-1] // 2
    return {"full": agop, "x": agop[..., :d, :d], "y": agop[..., d:, d:]}


def top_eigenvalue_share(matrices: torch.Tensor) -> torch.Tensor:
    """λ_max / Σ λ of symmetric PSD matrices (negative round-off clamped to 0); NaN when Σ λ = 0."""
    eigenvalues = torch.linalg.eigvalsh(matrices.double()).clamp(min=0)
    total = eigenvalues.sum(dim=-1)
    return torch.where(total > 0, eigenvalues[..., -1] / total, math.nan)


def circulant_score(matrices: torch.Tensor) -> torch.Tensor:
    """Share of the 2-D DFT energy on the cells (k, −k mod p) a circulant matrix occupies."""
    p = matrices.shape[-1]
    energy = torch.fft.fft2(matrices.double()).abs().square()
    k = torch.arange(p)
    return energy[..., k, (-k) % p].sum(dim=-1) / energy.sum(dim=(-2, -1))


def shift_rows_left(matrices: torch.Tensor) -> torch.Tensor:
    """S(A)[i, j] = A[i, (i + j) mod p]: row i shifted left by i."""
    p = matrices.shape[-1]
    columns = (torch.arange(p)[:, None] + torch.arange(p)[None, :]) % p
    return matrices.gather(-1, columns.expand(matrices.shape))


def circulant_deviation(matrices: torch.Tensor) -> torch.Tensor:
    """D(A) = Σ_j Var_i(S(A)[i, j]) / ‖A‖_F² (Mallinar et al. 2024)."""
    matrices = matrices.double()
    spread = shift_rows_left(matrices).var(dim=-2, correction=0).sum(dim=-1)
    return spread / matrices.square().sum(dim=(-2, -1))


def pair_embeddings(W_E: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """v = [W_E[x] ; W_E[y]] for token rows [x, y, =]: (N, 2d)."""
    return W_E[inputs[:, :2]].flatten(-2)


def correct_logit_function(model):
    """Row-wise (pairs (N, 2d), one_hot(c) (N, vocab)) ↦ logit_c (N,) of the model whose inputs at
    positions 0, 1 are each pair's halves."""
    equals = model.W_E[model.cfg.p]

    def correct_logits(pairs: torch.Tensor, one_hot: torch.Tensor) -> torch.Tensor:
        count = pairs.shape[0]
        x = torch.cat([pairs.view(count, 2, -1), equals.expand(count, 1, -1)], dim=1) + model.W_pos
        return (model.logits_from_stream(x) * one_hot).sum(dim=-1)

    return correct_logits


def model_agop(model, inputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The input-embedding AGOP of the model's correct logit over the samples (inputs, labels)."""
    model.requires_grad_(False)
    one_hot = torch.nn.functional.one_hot(labels, model.cfg.vocab).to(model.W_E.dtype)
    pairs = pair_embeddings(model.W_E, inputs)
    return gradient_outer_product(input_gradients(correct_logit_function(model), pairs, one_hot))


def sample_subset(inputs: torch.Tensor, labels: torch.Tensor, max_samples: int | None):
    """At most `max_samples` of the samples: all of them, or a fixed random subset (seed 0), so
    that every checkpoint of a run is measured on the same samples."""
    if max_samples is None or len(labels) <= max_samples:
        return inputs, labels
    chosen = torch.randperm(len(labels), generator=torch.Generator().manual_seed(0))[:max_samples]
    return inputs[chosen], labels[chosen]


def split_agops(stacked: dict[str, torch.Tensor], infos, max_samples: int | None = None) -> dict[str, torch.Tensor]:
    """For each split, the AGOP of every checkpoint of the stack over at most `max_samples` of
    the split's samples (a Monte Carlo estimate of the mean when fewer): (n_checkpoints, 2d, 2d),
    float64. The gradients are taken in float32, twice as fast; on a trained p = 31 model they
    differ from float64 ones by 3e-6 in relative norm."""
    agops = {split: [] for split in SPLITS}
    for index, info in enumerate(infos):
        model, data = checkpoint_model(stacked, infos, index).float(), checkpoint_split(info)
        for split in SPLITS:
            inputs, labels = sample_subset(getattr(data, f"{split}_inputs"), getattr(data, f"{split}_labels"),
                                           max_samples)
            agops[split].append(model_agop(model, inputs, labels))
    return {split: torch.stack(values).double() for split, values in agops.items()}


def circulant_columns(prefix: str, matrices: torch.Tensor) -> dict[str, list[float]]:
    """{prefix}_circulant_score and {prefix}_circulant_deviation of a stack of p×p matrices."""
    return {f"{prefix}_circulant_score": circulant_score(matrices).tolist(),
            f"{prefix}_circulant_deviation": circulant_deviation(matrices).tolist()}


def agop_rows(stacked: dict[str, torch.Tensor], infos, args=None) -> list[list[dict]]:
    """Per checkpoint, one row per (split, block): AGOP erank and top share, the Gram matrix's
    circulant scores, and those of the split's AGOP_xx pulled back to the numbers. `args.samples`
    caps the samples per split (None or absent: all)."""
    embeddings = number_embeddings(stacked, chunk_group(infos, args))
    gram = circulant_columns("gram", embeddings @ embeddings.mT)
    rows: list[list[dict]] = [[] for _ in infos]
    for split, agop in split_agops(stacked, infos, getattr(args, "samples", None)).items():
        blocks = agop_blocks(agop)
        pulled_back = circulant_columns("agop", embeddings @ blocks["x"] @ embeddings.mT)
        for block, matrices in blocks.items():
            columns = {"agop_erank": effective_rank(matrices).tolist(),
                       "agop_top_share": top_eigenvalue_share(matrices).tolist()} | gram | pulled_back
            for index, checkpoint_rows in enumerate(rows):
                checkpoint_rows.append({"split": split, "block": block}
                                       | {name: values[index] for name, values in columns.items()})
    return rows
