"""Progress measures of grokking: restricted and excluded loss, per checkpoint and seed, in the
op's group (Nanda et al. 2023, "Progress measures for grokking via mechanistic interpretability",
section 5.1).

Inputs. The pairs (x, y) of the task whose both numbers are elements of the op's group
(groups.NumberGroup, order n): for x+y and x−y in Z_p every pair of the task; for x×y and x÷y in
the multiplicative group (Z/pZ)^× the pairs with x, y ≠ 0 (token 0 is not in the group and is left
out, so these are (p−1)² pairs; the task's pairs with x = 0 or y = 0 are not measured). They form a
grid over (i, j), the element indices of x and y (token of element i = group.tokens[i]), in the
order of data.all_pairs. The answer's element index is
    c(i, j) = (i + j) mod n   for x+y, and for x×y (log_g(xy) = log_g x + log_g y),
    c(i, j) = (i − j) mod n   for x−y, and for x÷y,
and the label token is group.tokens[c]; `group_inputs` checks this against the dataset's labels.
(With --fourier-group additive, x×y and x÷y are read in Z_p, where the answer is not i ± j: c is
then the answer's own index in Z_p, its token.)

Directions. For the checkpoint seed's key frequencies K (key_frequencies.csv, one set per seed),
the functions of the input grid: the constant 1 and cos(2πk·c/n), sin(2πk·c/n) for k ∈ K (only the
cosine for k = n/2, where the sine vanishes) — the rows of fourier.fourier_basis(n) of frequencies
{0} ∪ K, read at c. They are orthogonal over the full grid (each c occurs n times); a QR
decomposition, constant first, makes them orthonormal in any case: Q (N × (1 + r)), and Q_K its
columns after the constant (the key directions, orthogonal to the constant).

Logits. L (N × p): the model's logits at the last position ('=') for every group input, from the
float64 eval model of the checkpoint, on the p number outputs only — the logit of the '=' token (p)
is dropped, so every cross-entropy here is over the p number outputs and chance is log p. (The
training loss of metric.csv is over the full vocabulary, p + 1 outputs; the two differ by the
probability the model puts on '=', which a trained model all but never predicts.) For a
multiplicative group the logit of token 0 is kept: the output space is the same for every op.
    restricted logits  L_R = Q Qᵀ L            (keep only the constant and the key directions)
    excluded logits    L_X = L − Q_K Q_Kᵀ L    (remove only the key directions, keep the constant)
The projections act on the input axis, separately for each output. Then, with CE the mean
cross-entropy over the p number outputs:
    restricted_loss = CE(L_R) over ALL group inputs (train and test);
    excluded_loss   = CE(L_X) over the group inputs in the checkpoint's training split;
    train_loss, test_loss = CE(L) over the group inputs in the training / test split;
    chance_loss     = log p (the loss of uniform logits over the p outputs).
A model whose logits are built from the key frequencies has restricted_loss ≈ train_loss and
test_loss, and excluded_loss ≥ chance on the training inputs it had memorised before the circuit.
All math in float64.

progress_measures.csv: seed, step, group (added by the runner), restricted_loss, excluded_loss,
train_loss, test_loss, chance_loss, key_frequencies (the set used, space-separated, ascending).
"""

from collections.abc import Sequence
from dataclasses import dataclass
import math

import torch
import torch.nn.functional as F

from ..data import all_pairs
from ..errors import GrokflowError
from .fourier import fourier_rows
from .groups import ADDITIVE, MULTIPLICATIVE, MULTIPLICATIVE_OPS, NumberGroup, chunk_group
from .key_frequencies import read_key_frequencies, seed_frequencies
from .model_access import checkpoint_model, checkpoint_split

COLUMNS = ("restricted_loss", "excluded_loss", "train_loss", "test_loss", "chance_loss", "key_frequencies")
SUBTRACTING_OPS = ("x-y", "x÷y")


@dataclass(frozen=True)
class GroupInputs:
    """The task's inputs whose numbers are group elements, in data.all_pairs order: tokens
    [x, y, =] (N × 3), label tokens (N,), element indices i, j of x and y and c of the answer."""

    op: str
    p: int
    group: NumberGroup
    tokens: torch.Tensor
    labels: torch.Tensor
    i: torch.Tensor
    j: torch.Tensor
    answer: torch.Tensor

    @property
    def keys(self) -> torch.Tensor:
        """x·p + y of every input, to match the inputs of a split."""
        return self.tokens[:, 0] * self.p + self.tokens[:, 1]


def answer_index(op: str, i: torch.Tensor, j: torch.Tensor, n: int) -> torch.Tensor:
    """c(i, j) = (i ± j) mod n: − for x−y and x÷y, + for x+y and x×y (in the op's own group)."""
    return torch.remainder(i - j if op in SUBTRACTING_OPS else i + j, n)


def own_group(op: str, group: NumberGroup) -> bool:
    """Whether `group` is the op's own group, in which the answer is c = i ± j."""
    return group.name == (MULTIPLICATIVE if op in MULTIPLICATIVE_OPS else ADDITIVE)


def group_inputs(op: str, p: int, group: NumberGroup) -> GroupInputs:
    """The inputs of the task whose x and y are elements of `group`, with c(i, j) checked against
    the dataset's labels (label token = group.tokens[c])."""
    tokens, labels = all_pairs(op, p)
    n = group.order
    position = torch.full((p,), -1, dtype=torch.long)
    position[group.index] = torch.arange(n)
    i, j = position[tokens[:, 0]], position[tokens[:, 1]]
    inside = (i >= 0) & (j >= 0)
    tokens, labels, i, j = tokens[inside], labels[inside], i[inside], j[inside]
    label_index = position[labels]
    if (label_index < 0).any():
        raise GrokflowError(f"{op} has answers outside the {group.name} group of p = {p}")
    if own_group(op, group):
        answer = answer_index(op, i, j, n)
        if not torch.equal(group.index[answer], labels):
            raise GrokflowError(f"the answer index (i ± j) mod {n} of {op} disagrees with the dataset's labels")
    else:
        answer = label_index
    return GroupInputs(op, p, group, tokens, labels, i, j, answer)


def key_directions(answer: torch.Tensor, n: int, frequencies: Sequence[int]) -> torch.Tensor:
    """Q (N × (1 + r)): orthonormal columns spanning the constant and cos, sin(2πk·c/n), k ∈ K,
    over the inputs with answer index c = `answer`; the constant is column 0."""
    bad = [k for k in frequencies if not 1 <= int(k) <= n // 2]
    if bad:
        raise GrokflowError(f"key frequencies {bad} are outside 1 … {n // 2} of a group of order {n}; "
                            "rerun key_frequencies for this p and group")
    directions = fourier_rows(n, [0, *frequencies])[:, answer].T
    q, r = torch.linalg.qr(directions)
    if (r.diagonal().abs() < 1e-9 * math.sqrt(len(answer))).any():
        raise GrokflowError(f"the directions of key frequencies {list(frequencies)} are linearly dependent "
                            "over these inputs")
    return q


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    """Mean cross-entropy of the rows selected by `mask` (all rows when None)."""
    if mask is not None:
        logits, labels = logits[mask], labels[mask]
    return float(F.cross_entropy(logits, labels))


def progress_losses(logits: torch.Tensor, inputs: GroupInputs, frequencies: Sequence[int],
                    train: torch.Tensor) -> dict[str, float]:
    """restricted_loss, excluded_loss, train_loss, test_loss and chance_loss of the logits
    (N × p or N × (p + 1), one row per group input; a '=' logit is dropped) of one checkpoint,
    given its key frequencies and the mask of its training inputs (N,)."""
    p = inputs.p
    logits = logits[:, :p].double()
    q = key_directions(inputs.answer, inputs.group.order, frequencies)
    q_key = q[:, 1:]
    restricted = q @ (q.T @ logits)
    excluded = logits - q_key @ (q_key.T @ logits)
    train = train.bool()
    return {"restricted_loss": cross_entropy(restricted, inputs.labels),
            "excluded_loss": cross_entropy(excluded, inputs.labels, train),
            "train_loss": cross_entropy(logits, inputs.labels, train),
            "test_loss": cross_entropy(logits, inputs.labels, ~train),
            "chance_loss": math.log(p)}


def train_mask(info, inputs: GroupInputs) -> torch.Tensor:
    """Which group inputs are in the checkpoint's training split."""
    split_tokens = checkpoint_split(info).train_inputs
    in_train = torch.zeros(inputs.p * inputs.p, dtype=torch.bool)
    in_train[split_tokens[:, 0] * inputs.p + split_tokens[:, 1]] = True
    return in_train[inputs.keys]


def progress_rows(stacked, infos, args) -> list[list[dict]]:
    """For each checkpoint of a chunk of one op, one row: the losses of `progress_losses` and the
    key frequencies used (from args.key_frequencies, the checkpoint's seed, in args.fourier_group)."""
    group = chunk_group(infos, args)
    sets = read_key_frequencies(args.key_frequencies, group.name)
    inputs = group_inputs(infos[0].op, infos[0].model.p, group)
    rows = []
    for index, info in enumerate(infos):
        frequencies = seed_frequencies(sets, info.seed, args.key_frequencies)
        with torch.no_grad():
            logits = checkpoint_model(stacked, infos, index)(inputs.tokens)
        losses = progress_losses(logits, inputs, frequencies, train_mask(info, inputs))
        rows.append([losses | {"key_frequencies": " ".join(str(k) for k in frequencies)}])
    return rows
