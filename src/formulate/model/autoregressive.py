"""Kennedy and O'Hagan's autoregressive co-kriging (``transfer = "autoregressive"``).

The campaign's function is a learned multiple of the sources' plus its own difference:
``f_campaign(x) = rho * g(x) + r(x)``, ``f_source(x) = g(x)``, with ``g`` and ``r`` independent
GPs, each with its own length-scales (Kennedy and O'Hagan 2000, Biometrika 87: 1-13; the
"AR1" model of multi-fidelity Gaussian processes). Over inputs with a task column (0: the
campaign, 1..: the sources) the covariance is::

    k((x, s), (x', t)) = c_s c_t k_g(x, x') + [s = 0][t = 0] k_r(x, x'),  c_0 = rho, c_s>0 = 1

Where a source measured, ``g`` is known, so the campaign's posterior variance there falls to
``rho^2 Var(g | data) + Var(r)``: the source lowers the campaign's uncertainty, not only its
mean (a stacked mean cannot). ``r`` keeps its own length-scales, so a source unrelated to
the campaign's data should get a small ``rho`` and leave ``r`` to model the campaign as
without a source (a shared kernel, as in the ICM multi-task GP, lets such a source blur the
campaign's). It does not always: ``g`` fitted to a shuffled source's noise still hurt one
transfer task, which is why this is an option and not the default (``docs/benchmarks``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from botorch.models.utils.gpytorch_modules import get_covar_module_with_dim_scaled_prior
from gpytorch.constraints import GreaterThan
from gpytorch.kernels import Kernel, ScaleKernel
from gpytorch.priors import LogNormalPrior, NormalPrior

OWN_SCALE_MEDIAN = 1.0
"""Prior median of the campaign's own difference ``r``'s variance (outputs standardized over
campaign and sources together; log-sd 1): as much as the sources' function's before data.
Chosen on the transfer tasks: with a quarter, a campaign whose optimum moves away from the
source's (``calisol-temperature``) trusted the source's shape too long (``docs/benchmarks``)."""
RHO_SCALE = 0.5
"""Prior sd of ``rho`` around its centre (a source's ``trust``, else 0.5)."""


class AutoregressiveKernel(Kernel):
    """The covariance above, over ``n x (d + 1)`` inputs whose last column is the task.

    Args:
        dims: the formulation's columns (``d``).
        rho: the prior centre of ``rho`` (a source's ``trust``, else 0.5); it starts there.
        factory: makes ``g``'s and ``r``'s kernels, called with ``ard_num_dims`` (the
            surrogate's ``kernel``; None: BoTorch's RBF with its dimension-scaled prior).
    """

    def __init__(
        self,
        dims: int,
        rho: float = 0.5,
        factory: Callable[..., Kernel] | None = None,
    ) -> None:
        super().__init__()
        factory = factory or get_covar_module_with_dim_scaled_prior
        self.dims = dims
        self.shared = factory(ard_num_dims=dims)
        self.own = ScaleKernel(
            factory(ard_num_dims=dims),
            outputscale_prior=LogNormalPrior(math.log(OWN_SCALE_MEDIAN), 1.0),
            outputscale_constraint=GreaterThan(1e-4),
        )
        self.own.outputscale = OWN_SCALE_MEDIAN
        self.register_parameter("rho", torch.nn.Parameter(torch.tensor(float(rho))))
        self.register_prior("rho_prior", NormalPrior(float(rho), RHO_SCALE), "rho")

    def _coefficients(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per row (``... x n``): ``c`` (rho for the campaign, 1 for a source) and whether
        the row is the campaign's."""
        campaign = x[..., self.dims].round() == 0
        c = torch.where(campaign, self.rho.to(x), torch.ones((), dtype=x.dtype, device=x.device))
        return c, campaign.to(x.dtype)

    def forward(
        self, x1: torch.Tensor, x2: torch.Tensor, diag: bool = False, **params
    ) -> torch.Tensor:
        f1, f2 = x1[..., : self.dims], x2[..., : self.dims]
        c1, own1 = self._coefficients(x1)
        c2, own2 = self._coefficients(x2)
        shared = self.shared.forward(f1, f2, diag=diag)
        own = self.own.forward(f1, f2, diag=diag)
        if diag:
            return c1 * c2 * shared + own1 * own2 * own
        outer = c1.unsqueeze(-1) * c2.unsqueeze(-2)
        mask = own1.unsqueeze(-1) * own2.unsqueeze(-2)
        return outer * shared + mask * own

    def correlation(self) -> float:
        """The prior correlation of the campaign's and a source's values at one formulation,
        ``rho / sqrt(rho^2 + Var(r))`` (-1..1)."""
        rho = float(self.rho.detach())
        return rho / math.sqrt(rho**2 + float(self.own.outputscale.detach()))
