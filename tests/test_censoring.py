"""Censoring arithmetic: leave-one-out predictive in closed form, truncated normal means."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from formulate.model.censoring import loo_predictive, truncated_mean
from formulate.model.surrogates import fit_objective
from formulate.spec.campaign import Campaign
from formulate.testing import emulated


def test_loo_predictive_is_the_conditional_without_the_point(campaign: Campaign) -> None:
    table = emulated(campaign, 15, seed=6)
    model = fit_objective(campaign, table, "ionic_conductivity", "gp-onehot").model
    mean, std = loo_predictive(model)
    model.train()
    with torch.no_grad():
        prior = model.likelihood(model(model.train_inputs[0]))
        K, m, y = prior.covariance_matrix, prior.mean, model.train_targets
    model.eval()
    scale = model.outcome_transform.stdvs.item()
    shift = model.outcome_transform.means.item()
    n = len(y)
    for i in (0, n // 2, n - 1):
        rest = [j for j in range(n) if j != i]
        w = torch.linalg.solve(K[rest][:, rest], K[rest, i])
        mu = m[i] + w @ (y[rest] - m[rest])
        var = K[i, i] - K[i, rest] @ w
        assert mean[i] == pytest.approx((mu * scale + shift).item(), rel=1e-6)
        assert std[i] == pytest.approx((var.sqrt() * scale).item(), rel=1e-6)


def test_truncated_mean_is_never_below_the_bound() -> None:
    m, s, c = np.array([0.0, 0.0, 5.0]), np.array([1.0, 1.0, 0.5]), np.array([-1.0, 2.0, 1.0])
    out = truncated_mean(m, s, c)
    assert np.all(out >= c)
    assert out[0] == pytest.approx(0.2876, abs=1e-3)  # E[Z | Z > -1] = pdf(1) / cdf(1)
    assert out[2] == pytest.approx(5.0, abs=1e-6)
