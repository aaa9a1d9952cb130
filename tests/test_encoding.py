"""Encodings of formulations into model inputs."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from formulate.model.encoding import Encoder
from formulate.spec.campaign import Campaign
from formulate.testing import formulation


def frame(*rows: dict) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def test_onehot_scales_numbers_and_zeroes_inactive(campaign: Campaign) -> None:
    enc = Encoder(campaign, "onehot")
    X = enc.encode(
        frame(
            formulation(),
            formulation(filler="none", filler_wt_pct=None, solvent="ACN", thf_fraction=None),
        )
    )
    col = {c: i for i, c in enumerate(enc.columns)}
    assert X.dtype == torch.float64 and X.shape == (2, enc.dim)
    assert X[0, col["filler_wt_pct"]] == (2.5 - 0.5) / (15 - 0.5)
    assert X[0, col["eo_li_ratio"]] == (16 - 6) / 24
    assert X[1, col["filler_wt_pct"]] == 0 and X[1, col["thf_fraction"]] == 0
    assert X[0, col["filler=cluster_chain"]] == 1 and X[1, col["filler=none"]] == 1
    assert X[:, [col[f"solvent={s}"] for s in ("THF_DCM", "ACN", "DMF")]].sum(1).tolist() == [1, 1]


def test_a_categorical_without_descriptors_is_on_the_categorical_kernel_beside_numbers(
    campaign: Campaign, plain_polymer: Campaign
) -> None:
    """A categorical without descriptors beside numeric variables is one column of level
    indices for the categorical kernel in ``physics`` (the default) as in ``mixed``; where every
    variable is categorical ``physics`` keeps one-hot columns (next test), and ``onehot``
    always does. With descriptors on every categorical (the paper's campaign) the
    three-way choice does not arise: ``physics`` and ``mixed`` are the same encoding."""
    row = frame(formulation(polymer="PAN", solvent="DMF", thf_fraction=None))
    for kind in ("physics", "mixed"):
        enc = Encoder(plain_polymer, kind)
        assert [enc.columns[i] for i in enc.cat_dims] == ["polymer"]
        assert enc.encode(row)[0, enc.cat_dims].tolist() == [2.0]
        assert "interfacial_area_per_volume" in enc.columns
        assert "solvent.dielectric_constant" in enc.columns
    onehot = Encoder(plain_polymer, "onehot")
    assert onehot.cat_dims == [] and "polymer=PAN" in onehot.columns
    same = Encoder(campaign, "mixed")
    assert same.columns == Encoder(campaign, "physics").columns and same.cat_dims == []


def test_physics_inputs_lie_in_the_unit_cube(campaign: Campaign) -> None:
    enc = Encoder(campaign, "physics")
    X = enc.encode(pd.DataFrame(campaign.space.sample(300, seed=9)))
    assert "interfacial_area_per_volume" in enc.columns and "filler=none" not in enc.columns
    assert X.min() >= -1e-9 and X.max() <= 1 + 1e-9


def test_physics_keeps_onehot_levels_where_every_variable_is_categorical() -> None:
    """On a grid of categoricals without descriptors the one-hot length-scales tell the levels
    apart (``physics``); ``mixed`` still puts them on the categorical kernel."""
    from formulate.spec.space import DesignSpace

    class Spec:  # the encoder needs only the space
        space = DesignSpace.model_validate(
            {
                "variables": {
                    "shape": {"kind": "categorical", "levels": {"rod": {}, "sphere": {}}},
                    "colour": {"kind": "categorical", "levels": {"red": {}, "blue": {}}},
                }
            }
        )

    enc = Encoder(Spec, "physics")  # type: ignore[arg-type]
    assert enc.columns == ["shape=rod", "shape=sphere", "colour=red", "colour=blue"]
    X = enc.encode(pd.DataFrame({"shape": ["rod"], "colour": ["blue"]}))
    assert X.tolist() == [[1.0, 0.0, 0.0, 1.0]] and enc.cat_dims == []
    assert Encoder(Spec, "mixed").cat_dims == [0, 1]  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["onehot", "mixed", "physics"])
def test_level_index_reads_each_rows_level_back(plain_polymer: Campaign, kind: str) -> None:
    """Each encoded row's level of every categorical (one-hot, descriptors, level indices),
    for batched inputs (``b x q x d``, as an acquisition passes them) and for rows moved
    slightly off their level's code."""
    campaign = plain_polymer
    enc = Encoder(campaign, kind)  # type: ignore[arg-type]
    rows = pd.DataFrame(campaign.space.sample(96, seed=3))
    X = enc.encode(rows).reshape(8, 12, enc.dim)
    moved = X + 0.01 * torch.randn(X.shape, generator=torch.Generator().manual_seed(0))
    for name in campaign.space.categorical_names():
        names = list(campaign.space.levels(name))
        truth = torch.tensor([names.index(str(v)) for v in rows[name]]).reshape(8, 12)
        assert torch.equal(enc.level_index(X, name), truth), name
        assert torch.equal(enc.level_index(moved, name), truth), name
