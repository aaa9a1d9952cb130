"""Surrogates: per-objective GPs, transforms, tiny and bad data, censored life, caching."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from formulate.campaign import Campaign
from formulate.errors import FormulateError
from formulate.surrogates import (
    SurrogateSpec,
    fit_campaign,
    fit_objective,
    from_model_scale,
    lengthscales,
    load_spec,
    loo_predictive,
    resolve_device,
    spec_names,
    to_model_scale,
    truncated_mean,
)
from formulate.virtual_lab import Noise, VirtualLab


def emulated(campaign: Campaign, n: int, seed: int, horizon_h: float = 1500.0) -> pd.DataFrame:
    """``n`` random formed membranes measured by the virtual lab (a campaign-table shape)."""
    rows = pd.DataFrame(campaign.space.sample(n, seed=seed))
    rows.insert(0, "membrane", [f"S{seed}-{i}" for i in range(n)])
    lab = VirtualLab(seed=seed, noise=Noise(film_failure=0.0), horizon_h=horizon_h)
    table = rows.merge(lab.measure(rows), on="membrane")
    table = table[table["film_formed"] == 1].reset_index(drop=True)
    table["status"] = "measured"
    return table


def test_specs_ship_and_load() -> None:
    assert {"gp-onehot", "gp-mixed", "gp-physics"} <= set(spec_names())
    assert load_spec("gp-physics").encoding == "physics"
    with pytest.raises(FormulateError, match="no surrogate 'gp-magic'"):
        load_spec("gp-magic")


def test_transforms_round_trip() -> None:
    v = np.array([1e-5, 5.2e-4])
    assert to_model_scale(v, "log10") == pytest.approx([-5, np.log10(5.2e-4)])
    assert from_model_scale(to_model_scale(v, "log10"), "log10") == pytest.approx(v)
    t = np.array([0.27, 0.62])
    assert from_model_scale(to_model_scale(t, "logit"), "logit") == pytest.approx(t)


@pytest.mark.parametrize("family", ["gp-onehot", "gp-mixed", "gp-physics"])
def test_every_family_learns_conductivity(campaign: Campaign, family: str) -> None:
    train, test = emulated(campaign, 30, seed=1), emulated(campaign, 60, seed=2)
    model = fit_objective(campaign, train, "ionic_conductivity", family)
    mean, std = model.predict_scale(test, observation_noise=True)
    truth = np.log10(test["ionic_conductivity"].astype(float))
    baseline = np.sqrt(np.mean((truth - truth.mean()) ** 2))
    rmse = np.sqrt(np.mean((mean - truth) ** 2))
    assert rmse < 0.8 * baseline, (family, rmse, baseline)
    assert 0.6 < np.mean(np.abs(mean - truth) < 1.96 * std) <= 1.0


def test_each_objective_uses_its_own_rows_and_pending_are_left_out(campaign: Campaign) -> None:
    table = emulated(campaign, 20, seed=3)
    table.loc[table.index[:8], ["li_symmetric_life", "li_symmetric_life_censored"]] = [None, False]
    pending = table.iloc[:2].copy()
    pending["membrane"] = ["P1", "P2"]
    pending[["ionic_conductivity", "transference_number", "li_symmetric_life"]] = None
    pending["status"] = "pending"
    models = fit_campaign(campaign, pd.concat([table, pending]), "gp-onehot")
    assert len(models["ionic_conductivity"].data.rows) == len(table)
    assert len(models["li_symmetric_life"].data.rows) == len(table) - 8
    assert not {"P1", "P2"} & set(models["ionic_conductivity"].data.rows["membrane"])


def test_three_points_give_an_honest_model_and_two_a_clear_message(campaign: Campaign) -> None:
    table = emulated(campaign, 12, seed=4)
    model = fit_objective(campaign, table.iloc[:3], "ionic_conductivity", "gp-onehot")
    pred = model.predict(table.iloc[3:])
    assert np.all(np.isfinite(pred["mean"])) and np.all(pred["upper"] > pred["lower"])
    assert (pred["upper"] / pred["lower"]).min() > 3  # wide: little is known from 3 membranes
    with pytest.raises(FormulateError, match="2 membrane\\(s\\) have it; a model needs at least 3"):
        fit_objective(campaign, table.iloc[:2], "ionic_conductivity", "gp-onehot")


def test_degenerate_data_does_not_crash(campaign: Campaign) -> None:
    table = emulated(campaign, 10, seed=5)
    flat = table.assign(ionic_conductivity=3e-4)
    pred = fit_objective(campaign, flat, "ionic_conductivity", "gp-onehot").predict(flat)
    assert pred["mean"].to_numpy() == pytest.approx(3e-4, rel=0.05)
    one_level = table.assign(filler="none", filler_wt_pct=None)
    fit_objective(campaign, one_level, "ionic_conductivity", "gp-physics")
    zero = table.copy()
    zero.loc[0, "ionic_conductivity"] = 0.0
    with pytest.raises(FormulateError, match=f"membrane {zero.loc[0, 'membrane']}"):
        fit_objective(campaign, zero, "ionic_conductivity", "gp-onehot")


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


def test_censored_life_beats_both_naive_treatments(campaign: Campaign) -> None:
    errors = {"em": [], "as_observed": [], "drop": []}
    for seed in range(3):
        train = emulated(campaign, 40, seed=seed, horizon_h=300.0)  # heavy censoring
        assert train["li_symmetric_life_censored"].mean() > 0.3
        test = emulated(campaign, 200, seed=100 + seed, horizon_h=1e9)  # true lives
        truth = np.log10(test["li_symmetric_life"].astype(float))
        for mode in errors:
            spec = SurrogateSpec(name=f"t-{mode}", encoding="onehot", censoring=mode)
            model = fit_objective(campaign, train, "li_symmetric_life", spec)
            mean, _ = model.predict_scale(test)
            errors[mode].append(np.sqrt(np.mean((mean - truth) ** 2)))
            if mode == "em":
                cens = train[train["li_symmetric_life_censored"].astype(bool)]
                pred = model.predict(cens)
                assert np.all(pred["mean"].to_numpy() >= cens["li_symmetric_life"].to_numpy())
                assert np.all(model.y_fit >= model.data.y - 1e-12)
    em = np.mean(errors["em"])
    assert em < np.mean(errors["as_observed"]) and em < np.mean(errors["drop"]), errors


def test_models_are_cached_by_training_data(campaign: Campaign, tmp_path: Path) -> None:
    from formulate import surrogates

    table = emulated(campaign, 15, seed=7)
    first = fit_objective(campaign, table, "transference_number", "gp-onehot", cache_dir=tmp_path)
    assert fit_objective(campaign, table, "transference_number", "gp-onehot") is first
    files = list(tmp_path.glob("*.pt"))
    assert len(files) == 1
    surrogates._MEMORY.clear()  # as in a new process
    again = fit_objective(campaign, table, "transference_number", "gp-onehot", cache_dir=tmp_path)
    assert again is not first
    p1, p2 = first.predict(table), again.predict(table)
    pd.testing.assert_frame_equal(p1, p2)
    changed = table.assign(transference_number=table["transference_number"] * 0.9)
    other = fit_objective(campaign, changed, "transference_number", "gp-onehot")
    assert other.key != first.key
    files[0].write_bytes(b"not a state dict")
    surrogates._MEMORY.clear()
    fit_objective(campaign, table, "transference_number", "gp-onehot", cache_dir=tmp_path)


def test_device_resolution_falls_back_to_cpu() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cuda").type == expected
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(FormulateError, match="unknown device"):
        resolve_device("tpu")


def test_lengthscales_name_the_relevant_inputs(campaign: Campaign) -> None:
    table = emulated(campaign, 40, seed=8)
    ls = lengthscales(fit_objective(campaign, table, "ionic_conductivity", "gp-onehot"))
    assert len(ls) == 12 and ls.is_monotonic_increasing


def test_two_stage_model_stacks_predicted_intermediates(campaign: Campaign) -> None:
    table = emulated(campaign, 25, seed=13)
    model = fit_objective(campaign, table, "transference_number", "gp-physics-aux")
    assert model.encoder.columns[-3:] == [
        "predicted mobile_li_fraction",
        "predicted crystallinity",
        "predicted activation_energy",
    ]
    pred = model.predict(emulated(campaign, 10, seed=14))
    assert np.all((pred["mean"] > 0) & (pred["mean"] < 1))
    no_aux = table.drop(columns=["mobile_li_fraction"])
    with pytest.raises(FormulateError, match="mobile_li_fraction: 0 membrane"):
        fit_objective(campaign, no_aux, "transference_number", "gp-physics-aux")
