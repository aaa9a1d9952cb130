"""Right-censored outcomes (a cycling cell still running at N h says life >= N h): the
Gaussian arithmetic the surrogates use to fit (expectation-propagation sites of the Tobit
likelihood, or EM imputation) and predict them, on the model scale."""

from __future__ import annotations

import numpy as np
import torch
from botorch.models import SingleTaskGP
from botorch.models.transforms.outcome import Standardize
from scipy.special import log_ndtr, ndtr, ndtri  # scipy.stats would cost 64 MB to load

LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


def normal_logpdf(y: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """log N(y; mean, std^2), elementwise (same shapes)."""
    return -0.5 * ((y - mean) / std) ** 2 - np.log(std) - LOG_SQRT_2PI


def truncated_mean(mean: np.ndarray, std: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """E[Y | Y > bound] for Y ~ N(mean, std^2); never below ``bound`` (all shape ``n``)."""
    alpha = (bound - mean) / std
    log_tail = log_ndtr(-alpha)  # inverse Mills ratio pdf/sf, in logs (holds far in the tail)
    mills = np.exp(-0.5 * alpha**2 - LOG_SQRT_2PI - log_tail)
    hazard = np.where(log_tail > np.log(1e-12), mills, alpha)
    return np.maximum(mean + std * hazard, bound)


def censored_site(
    mean: np.ndarray, var: np.ndarray, bound: np.ndarray, noise: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The Gaussian site that stands for "measured y >= bound" in expectation propagation
    (Tobit likelihood P(y >= c | f) = Phi((f - c) / sqrt(noise))): the tilted distribution
    cavity x likelihood is matched in mean and variance, and the site is what turns the
    cavity N(mean, var) into it (Rasmussen & Williams 2006, sec. 3.6, with a probit of
    scale sqrt(noise)). All arguments and results have shape ``n`` (model scale); returns
    the site's pseudo-target and variance. A bound far below the cavity says little: its
    site variance is large (capped at ``SITE_VAR_MAX`` times the cavity's)."""
    s = np.sqrt(var + noise)
    z = (mean - bound) / s
    ratio = np.exp(-0.5 * z**2 - LOG_SQRT_2PI - log_ndtr(z))  # pdf/cdf, stable in the tail
    m_hat = mean + var * ratio / s
    v_hat = np.maximum(var - var**2 * ratio * (z + ratio) / s**2, 1e-12)
    precision = 1 / v_hat - 1 / var
    informative = precision > 1 / (SITE_VAR_MAX * var)
    safe = np.where(informative, precision, 1.0)
    site_var = np.where(informative, 1 / safe, SITE_VAR_MAX * var)
    site_mean = np.where(informative, (m_hat / v_hat - mean / var) / safe, m_hat)
    return site_mean, site_var


SITE_VAR_MAX = 1e4
"""Largest site variance, as a multiple of the cavity's (a bound that says nothing)."""


def truncated_interval(
    mean: np.ndarray, std: np.ndarray, cut: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and central ``level`` interval of N(mean, std) truncated below at ``cut`` where
    ``cut`` is finite (elsewhere untruncated). Returns ``(mean, lower, upper)``, shape ``n``."""
    half = ndtri((1 + level) / 2)
    lower, upper = mean - half * std, mean + half * std
    mask = np.isfinite(cut)
    if not mask.any():
        return mean, lower, upper
    mean, lower, upper = mean.copy(), lower.copy(), upper.copy()
    m, s, c = mean[mask], std[mask], cut[mask]
    a = ndtr((c - m) / s)
    mean[mask] = truncated_mean(m, s, c)
    lo_q, hi_q = (1 - level) / 2, (1 + level) / 2
    lower[mask] = m + s * ndtri(a + (1 - a) * lo_q)
    upper[mask] = m + s * ndtri(a + (1 - a) * hi_q)
    return mean, lower, upper


def loo_log_density(model: SingleTaskGP, y: np.ndarray) -> float:
    """The closed-form leave-one-out log density of ``y`` (model scale, ``n``) under ``model``,
    summed over the values (without the constant ``-n/2 log 2 pi``)."""
    mean, std = loo_predictive(model)
    return float(np.sum(-0.5 * ((y - mean) / std) ** 2 - np.log(std)))


def loo_predictive(model: SingleTaskGP) -> tuple[np.ndarray, np.ndarray]:
    """Leave-one-out predictive mean and sd (model scale, noise included) of every training
    point, in closed form: mu_i = y_i - [K^-1 r]_i / [K^-1]_ii, var_i = 1 / [K^-1]_ii, with K
    the prior covariance of the noisy targets and r the targets minus the prior mean."""
    was_training = model.training
    model.train()
    with torch.no_grad():
        X = model.train_inputs[0]
        prior = model.likelihood(model(X), X)  # X: a multi-task likelihood's tasks
        K = prior.covariance_matrix
        r = (model.train_targets - prior.mean).unsqueeze(-1)
        K_inv = torch.cholesky_inverse(torch.linalg.cholesky(K))
        diag = K_inv.diagonal()
        mean = model.train_targets - (K_inv @ r).squeeze(-1) / diag
        std = diag.rsqrt()
    model.train(was_training)
    standardize: Standardize = model.outcome_transform  # type: ignore[assignment]
    scale, shift = standardize.stdvs.squeeze(), standardize.means.squeeze()
    return (mean * scale + shift).cpu().numpy(), (std * scale).cpu().numpy()
