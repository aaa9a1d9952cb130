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


def test_mixed_indexes_the_categoricals_without_descriptors(
    campaign: Campaign, plain_polymer: Campaign
) -> None:
    """``mixed`` is ``physics`` but for a categorical without descriptors: one column of level
    indices for the categorical kernel, not one-hot columns. With descriptors on every
    categorical (the paper's campaign) the two are the same encoding."""
    enc = Encoder(plain_polymer, "mixed")
    X = enc.encode(frame(formulation(polymer="PAN", solvent="DMF", thf_fraction=None)))
    assert [enc.columns[i] for i in enc.cat_dims] == ["polymer"]
    assert X[0, enc.cat_dims].tolist() == [2.0]
    physics = Encoder(plain_polymer, "physics").columns
    assert [c for c in physics if c not in enc.columns] == [
        f"polymer={p}" for p in ("PEO", "PVDF_HFP", "PAN")
    ]
    assert (
        "interfacial_area_per_volume" in enc.columns
        and "solvent.dielectric_constant" in enc.columns
    )
    same = Encoder(campaign, "mixed")
    assert same.columns == Encoder(campaign, "physics").columns and same.cat_dims == []


def test_physics_inputs_lie_in_the_unit_cube(campaign: Campaign) -> None:
    enc = Encoder(campaign, "physics")
    X = enc.encode(pd.DataFrame(campaign.space.sample(300, seed=9)))
    assert "interfacial_area_per_volume" in enc.columns and "filler=none" not in enc.columns
    assert X.min() >= -1e-9 and X.max() <= 1 + 1e-9


def test_physics_falls_back_to_onehot_for_levels_without_descriptors() -> None:
    from formulate.spec.space import DesignSpace

    class Spec:  # the encoder needs only the space
        space = DesignSpace.model_validate(
            {
                "variables": {
                    "x": {"kind": "continuous", "low": 0, "high": 2},
                    "colour": {"kind": "categorical", "levels": {"red": {}, "blue": {}}},
                }
            }
        )

    enc = Encoder(Spec, "physics")  # type: ignore[arg-type]
    assert enc.columns == ["x", "colour=red", "colour=blue"]
    X = enc.encode(pd.DataFrame({"x": [1.0], "colour": ["blue"]}))
    assert X.tolist() == [[0.5, 0.0, 1.0]]


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
