"""grokflow's TwoNN (metrics.intrinsic_dimension.twonn_dimension) against dadapy 0.3.4's
`Data.compute_id_2NN` on the same rows.

Both follow Facco et al. 2017 with the same convention: μ = r₂/r₁ sorted, the empirical
F(μ_i) = i/N (i = 1 … N), the largest 10% of μ discarded (i ≤ ⌊0.9 N⌋), and the least-squares
slope through the origin of −log(1 − F) against log μ (dadapy by scipy's curve_fit, grokflow in
closed form), so the two agree to float rounding (curve_fit's tolerance: about 1e-10 relative).
(scikit-dimension's TwoNN uses F = (i − 1)/N: see docs/interop.md.)

dadapy needs numpy<2 and grokflow's SLURM plugin numpy>=2.4.5, so no extra installs it and this
test skips without it; docs/interop.md runs it in an environment of its own.
"""

import pytest
import torch

from grokflow.metrics.intrinsic_dimension import twonn_dimension
from grokflow.model import GrokTransformer, ModelConfig

dadapy = pytest.importorskip("dadapy", reason="dadapy needs numpy<2; see docs/interop.md")


def dadapy_twonn(points: torch.Tensor) -> float:
    dimension, _, _ = dadapy.Data(coordinates=points.double().numpy()).compute_id_2NN()
    return float(dimension)


def embedded_gaussian(d, n, ambient=32, seed=0):
    generator = torch.Generator().manual_seed(seed)
    latent = torch.randn(n, d, generator=generator, dtype=torch.float64)
    return latent @ torch.randn(d, ambient, generator=generator, dtype=torch.float64)


CLOUDS = {
    "gaussian_d2_n300": embedded_gaussian(2, 300),
    "gaussian_d6_n257": embedded_gaussian(6, 257, seed=1),
    # The rows grokflow measures: W_E of the full config's model size, at initialisation.
    "w_e_p113_d128": GrokTransformer(ModelConfig(p=113), seed=0).W_E.detach()[:113],
}


@pytest.mark.parametrize("name", CLOUDS)
def test_twonn_equals_dadapy(name):
    points = CLOUDS[name]
    assert float(twonn_dimension(points)) == pytest.approx(dadapy_twonn(points), rel=1e-8)
