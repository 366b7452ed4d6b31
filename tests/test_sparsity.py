import pytest
import torch

from grokflow.metrics.sparsity import gini, ipr


def test_uniform_spectrum_has_gini_zero_and_ipr_one_over_n():
    flat = torch.full((20,), 3.5)
    assert float(gini(flat)) == pytest.approx(0, abs=1e-12)
    assert float(ipr(flat)) == pytest.approx(1 / 20)


@pytest.mark.parametrize("n", [2, 7, 31])
def test_one_bin_spectrum_has_gini_n_minus_1_over_n_and_ipr_one(n):
    one_hot = torch.zeros(n)
    one_hot[n // 2] = 4.0
    assert float(gini(one_hot)) == pytest.approx((n - 1) / n)
    assert float(ipr(one_hot)) == pytest.approx(1)


def test_small_example_by_hand_is_order_and_scale_free():
    # sorted (1, 2, 3): G = 1 − 2·(1·2.5 + 2·1.5 + 3·0.5)/(6·3) = 2/9; IPR = 14/36
    for values in ([1.0, 2.0, 3.0], [3.0, 1.0, 2.0], [30.0, 10.0, 20.0]):
        assert float(gini(torch.tensor(values))) == pytest.approx(2 / 9)
        assert float(ipr(torch.tensor(values))) == pytest.approx(14 / 36)


def test_batched_matches_one_at_a_time():
    spectra = torch.rand(4, 3, 9, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for measure in (gini, ipr):
        one_by_one = torch.stack([torch.stack([measure(s) for s in row]) for row in spectra])
        torch.testing.assert_close(measure(spectra), one_by_one)
