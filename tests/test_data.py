import pytest
import torch

from grokflow.arithmetic import is_prime
from grokflow.data import OPS, all_pairs, train_test_split


def test_division_table_p5():
    tokens, labels = all_pairs("x÷y", 5)
    # x ÷ y = x · y⁻¹ mod 5, with 1⁻¹=1, 2⁻¹=3, 3⁻¹=2, 4⁻¹=4
    inverse = {1: 1, 2: 3, 3: 2, 4: 4}
    for (x, y, eq), label in zip(tokens.tolist(), labels.tolist()):
        assert eq == 5
        assert label == (x * inverse[y]) % 5
        assert (label * y) % 5 == x


@pytest.mark.parametrize("op", OPS)
def test_pair_counts_and_labels(op):
    p = 7
    tokens, labels = all_pairs(op, p)
    assert len(tokens) == (p * (p - 1) if op == "x÷y" else p * p)
    assert tokens.shape[1] == 3 and bool((tokens[:, 2] == p).all())
    assert int(labels.min()) >= 0 and int(labels.max()) < p
    x, y = tokens[:, 0], tokens[:, 1]
    expected = {"x+y": (x + y) % p, "x-y": (x - y) % p, "x×y": (x * y) % p, "x÷y": labels}[op]
    assert torch.equal(labels, expected)


def test_division_excludes_zero_divisor():
    tokens, _ = all_pairs("x÷y", 11)
    assert not bool((tokens[:, 1] == 0).any())


def test_split_is_deterministic_disjoint_and_complete():
    a = train_test_split("x-y", 13, seed=3, train_fraction=0.4)
    b = train_test_split("x-y", 13, seed=3, train_fraction=0.4)
    assert torch.equal(a.train_inputs, b.train_inputs) and torch.equal(a.test_labels, b.test_labels)
    assert len(a.train_labels) == round(0.4 * 169)
    train = {tuple(t) for t in a.train_inputs.tolist()}
    test = {tuple(t) for t in a.test_inputs.tolist()}
    assert not train & test and len(train | test) == 169


def test_split_depends_on_seed_and_op_and_nests_in_fraction():
    base = train_test_split("x+y", 13, seed=0, train_fraction=0.3)
    assert not torch.equal(base.train_inputs, train_test_split("x+y", 13, 1, 0.3).train_inputs)
    assert not torch.equal(base.train_inputs, train_test_split("x×y", 13, 0, 0.3).train_inputs)
    larger = train_test_split("x+y", 13, seed=0, train_fraction=0.6)
    assert torch.equal(larger.train_inputs[: len(base.train_inputs)], base.train_inputs)


def test_is_prime():
    assert [n for n in range(20) if is_prime(n)] == [2, 3, 5, 7, 11, 13, 17, 19]
