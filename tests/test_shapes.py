"""formulate.model.shapes: the broadcasting GPyTorch calls gives torch's answers and errors."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
import torch

from formulate.model import shapes


def _random_shapes(rng: random.Random) -> list[tuple[int, ...]]:
    """A few shapes that broadcast: dims of 1 or the common size, trailing-aligned."""
    common = [rng.choice([0, 1, 2, 3, 7]) for _ in range(rng.randint(0, 4))]
    out = []
    for _ in range(rng.randint(1, 4)):
        tail = common[len(common) - rng.randint(0, len(common)) :]
        out.append(tuple(1 if rng.random() < 0.3 else d for d in tail))
    return out


def test_same_shapes_as_torch() -> None:
    rng = random.Random(0)
    for _ in range(500):
        given = _random_shapes(rng)
        expected = shapes._TORCHS(*given)
        got = shapes.broadcast_shapes(*given)
        assert got == expected and type(got) is torch.Size, given
    assert shapes.broadcast_shapes(torch.Size([4, 1]), 3, [2, 1, 1]) == torch.Size([2, 4, 3])
    assert shapes.broadcast_shapes() == shapes._TORCHS() == torch.Size([])


@pytest.mark.parametrize("given", [((2, 3), (4, 3)), ((3,), (2,)), ((-1, 2), (2,)), (None, 2.5)])
def test_torchs_errors(given: tuple) -> None:
    with pytest.raises(Exception) as theirs:
        shapes._TORCHS(*given)
    with pytest.raises(theirs.type) as ours:
        shapes.broadcast_shapes(*given)
    assert str(ours.value) == str(theirs.value)


def test_installed_for_gpytorch_without_sympy() -> None:
    """Fitting and predicting with a model of formulate's own never imports sympy (0.45 s)."""
    code = (
        "import sys, torch\n"
        "from formulate.model.gp import exact_gp\n"
        "from formulate.model import shapes\n"
        "assert torch.broadcast_shapes is shapes.broadcast_shapes\n"
        "from botorch.models import SingleTaskGP\n"
        "X = torch.rand(12, 3, dtype=torch.double); Y = X.sum(-1, keepdim=True)\n"
        "m = SingleTaskGP(X, Y)\n"
        "m.posterior(torch.rand(5, 1, 3, dtype=torch.double)).mean\n"
        "print('sympy' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
