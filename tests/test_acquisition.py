"""Acquisition: reference point, constraints, weights and targets that change the choice, and
the integrated-variance batch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from formulate.plan.acquisition import (
    MAX_BASELINE,
    AcquisitionInputs,
    Constraint,
    build,
    integrated_variance_batch,
    reference_point,
    screen,
)
from formulate.plan.fitting import fit_models
from formulate.plan.planner import Request, acquisition_inputs
from formulate.plan.pool import candidate_pool
from formulate.spec.campaign import Campaign
from formulate.testing import emulated


@pytest.fixture(scope="module")
def fitted_setup():
    from formulate.spec.campaign import load_campaign
    from formulate.testing import TEMPLATE

    campaign = load_campaign(TEMPLATE)
    table = emulated(campaign, 24, seed=11)
    fitted = fit_models(campaign, table, "gp-onehot", "cpu", disk_cache=False)
    pool = candidate_pool(campaign.space, 256, seed=0)
    return campaign, table, fitted, pool


def _inputs(setup, strategy: str, **extra: object) -> tuple[AcquisitionInputs, torch.Tensor]:
    campaign, table, fitted, pool = setup
    encoder = next(iter(fitted.objectives.values())).encoder
    inputs = AcquisitionInputs(
        strategy=strategy,
        campaign=campaign,
        model=fitted.model_list(),
        models=fitted.objectives,
        X_baseline=encoder.encode(table),
        seed=0,
        **extra,  # type: ignore[arg-type]
    )
    return inputs, encoder.encode(pool)


def _best(setup, strategy: str, **extra: object) -> int:
    inputs, X = _inputs(setup, strategy, **extra)
    with torch.no_grad():
        scores = build(inputs)(X.unsqueeze(-2))
    return int(scores.argmax())


def test_reference_drops_to_the_data_when_nothing_reaches_the_campaigns(fitted_setup) -> None:
    campaign, table, fitted, _ = fitted_setup
    ref = reference_point(campaign, fitted.objectives)
    # conductivity's campaign reference is 1e-5 S/cm and some membranes reach it
    assert ref[0].item() == pytest.approx(-5.0)
    low = table.assign(ionic_conductivity=table["ionic_conductivity"] * 1e-3)  # all < 1e-5
    low_fit = fit_models(campaign, low, "gp-onehot", "cpu", disk_cache=False)
    ref_low = reference_point(campaign, low_fit.objectives)
    observed = np.log10(low["ionic_conductivity"].to_numpy(dtype=float))
    assert ref_low[0].item() < observed.min() and ref_low[0].item() > -5.0 - 6


def test_a_life_counts_at_most_the_test_horizon(fitted_setup) -> None:
    """A cell test stops at its horizon (1500 h here), so the acquisition cannot credit a
    longer life: no test could show it."""
    campaign, *_ = fitted_setup
    assert campaign.measurement("li_symmetric_life").horizon_h == pytest.approx(1500.0)
    inputs, _ = _inputs(fitted_setup, "qlognehvi")
    # model scale: log10 S/cm, logit t+, log10 h
    samples = torch.tensor(
        [[-3.3, 0.5, np.log10(5000.0)], [-3.3, 0.5, np.log10(800.0)]], dtype=torch.float64
    )
    adjusted = inputs.objectives_sign_adjusted()(samples)
    assert adjusted[:, 2].tolist() == pytest.approx([np.log10(1500.0), np.log10(800.0)])
    assert torch.equal(adjusted[:, :2], samples[:, :2])  # no horizon on the others


def test_constraint_is_feasible_on_its_side_of_the_threshold() -> None:
    at_least = Constraint(output=1, threshold=4.5, sign=1.0)
    samples = torch.tensor([[0.0, 4.0], [0.0, 5.0]])
    assert (at_least(samples) > 0).tolist() == [True, False]  # BoTorch: feasible where <= 0
    at_most = Constraint(output=1, threshold=4.5, sign=-1.0)
    assert (at_most(samples) > 0).tolist() == [False, True]


def test_parego_uses_the_requested_weights_and_they_change_the_scores(fitted_setup) -> None:
    inputs, X = _inputs(fitted_setup, "parego", weights={"transference_number": 3.0})
    acqf = build(inputs)
    # campaign order: conductivity, t+, life; unnamed objectives keep their campaign weight (1)
    assert acqf.scalarization_weights.tolist() == pytest.approx([0.2, 0.6, 0.2])
    plain_inputs, _ = _inputs(fitted_setup, "parego")
    assert build(plain_inputs).scalarization_weights.tolist() == pytest.approx([1 / 3] * 3)
    with torch.no_grad():
        weighted, plain = acqf(X.unsqueeze(-2)), build(plain_inputs)(X.unsqueeze(-2))
    assert not torch.allclose(weighted, plain)


def test_qlognei_improves_its_target(fitted_setup) -> None:
    _, _, fitted, pool = fitted_setup
    for target in ("ionic_conductivity", "transference_number"):
        mean = fitted.objectives[target].predict(pool)["mean"].to_numpy()
        chosen = _best(fitted_setup, "qlognei", target=target)
        assert mean[chosen] >= np.quantile(mean, 0.9), target


def test_inputs_are_checked_once(fitted_setup) -> None:
    with pytest.raises(ValueError, match="no acquisition function for strategy 'active'"):
        _inputs(fitted_setup, "active")
    with pytest.raises(ValueError, match="target 'yield' is not an objective"):
        _inputs(fitted_setup, "qlognei", target="yield")


def test_integrated_variance_batch_spreads_and_respects_pending(fitted_setup) -> None:
    _, _, fitted, pool = fitted_setup
    models = list(fitted.objectives.values())
    X = models[0].encoder.encode(pool)
    chosen, values = integrated_variance_batch(models, X, X[::4], None, 4)
    assert len(set(chosen)) == 4
    assert np.all(np.diff(values) <= 1e-12)  # each pick reduces less than the one before
    pending = X[chosen[:1]]
    again, _ = integrated_variance_batch(models, X, X[::4], pending, 4)
    assert chosen[0] not in again  # a pending membrane is already informative


def test_screen_ranks_like_the_noisy_acquisition_on_a_large_campaign(campaign: Campaign) -> None:
    from formulate.testing import Realistic, realistic_campaign

    table = realistic_campaign(campaign, Realistic(membranes=90, seed=21))
    fitted = fit_models(campaign, table, "gp-onehot", "cpu", disk_cache=False)
    encoder = next(iter(fitted.objectives.values())).encoder
    inputs = acquisition_inputs(campaign, table, fitted, Request(strategy="qlognehvi"))
    assert len(inputs.baseline) <= MAX_BASELINE < len(inputs.X_baseline)
    X = encoder.encode(candidate_pool(campaign.space, 512, seed=2))
    with torch.no_grad():
        cheap = screen(inputs)(X.unsqueeze(-2))
        full = build(inputs)(X.unsqueeze(-2))
    kept = set(cheap.argsort(descending=True)[:128].tolist())
    best_five = full.argsort(descending=True)[:5].tolist()
    assert sum(i in kept for i in best_five) >= 4


def test_the_fused_kernel_builds_in_this_environments_own_folder() -> None:
    """BoTorch's kernel build folder is inside the environment (another torch or BoTorch
    elsewhere does not make it rebuild), and a folder the user set is kept."""
    import os
    import subprocess
    import sys

    code = "import os, formulate.plan.acquisition; print(os.environ['TORCH_EXTENSIONS_DIR'])"
    env = {k: v for k, v in os.environ.items() if k != "TORCH_EXTENSIONS_DIR"}
    ours = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert ours.stdout.strip().startswith(f"{sys.prefix}/var/formulate/torch_extensions/")
    mine = {**env, "TORCH_EXTENSIONS_DIR": "/tmp/mine"}
    kept = subprocess.run([sys.executable, "-c", code], env=mine, capture_output=True, text=True)
    assert kept.stdout.strip() == "/tmp/mine"


def test_the_fused_kernel_is_built_by_this_environments_own_ninja(tmp_path: Path) -> None:
    """torch builds with the first ``ninja`` on PATH. A system ninja first (Debian's 1.11
    beside pip's 1.13) kept a build log the environment's could not read, so the kernel was
    rebuilt, about a minute, each time the other had built it last. The environment's own
    goes first; a PATH that already starts with it is left as it is."""
    import os
    import subprocess
    import sys

    from formulate.plan.kernel import own_ninja

    own = own_ninja()
    assert own is not None  # BoTorch requires the ninja package
    system = tmp_path / "ninja"
    system.write_text("#!/bin/sh\necho 1.11.1\n")
    system.chmod(0o755)
    code = "import os, shutil, formulate.plan.acquisition; print(shutil.which('ninja'))"
    code += "; print(os.environ['PATH'])"
    for first, path in [(own, [tmp_path, "/usr/bin", "/bin"]), (own, [own.parent, tmp_path])]:
        env = {**os.environ, "PATH": os.pathsep.join(map(str, path))}
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        found, seen = done.stdout.split()
        assert Path(found).samefile(first), done.stderr
        assert seen.endswith(env["PATH"]) and seen.count(str(own.parent)) == 1


def test_build_kernel_says_when_no_compiler_is_there(tmp_path: Path) -> None:
    """`make install` runs `formulate build-kernel`: without a compiler it says so, and why
    proposals still work, instead of failing the install or compiling at the first proposal."""
    import os
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "formulate"
    env = {
        **os.environ,
        "CXX": str(tmp_path / "no-such-c++"),
        "TORCH_EXTENSIONS_DIR": str(tmp_path),
    }
    done = subprocess.run([exe, "build-kernel"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stdout.split())
    assert "not built: no C++ compiler found" in said and "Proposals still work" in said
    assert not any(tmp_path.iterdir())  # nothing half-built
