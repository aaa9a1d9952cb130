"""Shape broadcasting for GPyTorch's hot path, without torch's symbolic-shape machinery.

GPyTorch and linear_operator call ``torch.broadcast_shapes`` thousands of times per proposal
(a constant mean, every lazy matrix product: about 7,700 calls for a batch of 4 at 100
membranes). torch 2.x computes it in Python through ``torch.fx.experimental.symbolic_shapes``,
whose first use imports sympy: 0.45 s of a fresh process's first proposal on this project's
2-core machine, then some 30 µs a call. :func:`install` puts NumPy's broadcasting in front for
shapes of plain integers, the only kind a fitted model meets; any other input (symbolic
sizes under ``torch.compile``, tracing, a shape that does not broadcast) goes to torch's own
function, so results and errors are torch's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

_TORCHS: Callable[..., torch.Size] = torch.functional.broadcast_shapes  # torch's own, kept


def broadcast_shapes(*shapes: int | Sequence[int]) -> torch.Size:
    """``torch.broadcast_shapes(*shapes)``: NumPy's rule for concrete integer shapes, torch's
    own function for anything else (and for every error it raises)."""
    if not torch.jit.is_tracing():
        try:
            dims = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
            if all(type(d) is int and d >= 0 for s in dims for d in s):
                return torch.Size(np.broadcast_shapes(*dims))
        except (TypeError, ValueError):  # not a shape, or not broadcastable: torch says why
            pass
    return _TORCHS(*shapes)


def install() -> None:
    """Make :func:`broadcast_shapes` the process's ``torch.broadcast_shapes`` (idempotent)."""
    torch.broadcast_shapes = broadcast_shapes
