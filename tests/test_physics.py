"""Physics features against hand calculations."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from formulate.model.physics import (
    FEATURES,
    features,
    formulation_features,
    salt_mass_fraction,
    volume_fractions,
)
from formulate.spec.campaign import Campaign
from formulate.testing import formulation


def test_volume_fractions_by_hand() -> None:
    # 10 wt% filler, half inorganic at 6.5 g/cm3, shell 0.9, matrix 1.3 g/cm3 (per gram):
    v_in, v_org, v_matrix = 0.05 / 6.5, 0.05 / 0.9, 0.90 / 1.3
    total = v_in + v_org + v_matrix
    phi_in, phi = volume_fractions(10.0, 0.5, 6.5)
    assert phi_in == pytest.approx(v_in / total)
    assert phi == pytest.approx((v_in + v_org) / total)
    assert volume_fractions(0.0, 0.5, 6.5) == (0.0, 0.0)


def test_cpcse_features_by_hand(campaign: Campaign) -> None:
    f = formulation_features(campaign, formulation())  # 2.5 wt% cluster chain, THF:DCM 1:1
    phi_in = (0.0125 / 6.5) / (0.0125 / 6.5 + 0.0125 / 0.9 + 0.975 / 1.3)
    assert f["inorganic_volume_fraction"] == pytest.approx(phi_in)
    assert f["interfacial_area_per_volume"] == pytest.approx(4 / 0.95 * phi_in)
    assert f["aspect_ratio"] == pytest.approx(1000 / 0.95)
    assert f["percolation_ratio"] == pytest.approx(
        f["filler_volume_fraction"] / (0.7 / (1000 / 0.95))
    )
    assert f["solvent_dielectric"] == pytest.approx(0.5 * 7.58 + 0.5 * 8.93)
    assert f["salt_mass_fraction"] == pytest.approx(287.09 / (287.09 + 16 * 44.05))


def test_cluster_chains_have_far_more_area_per_wt_pct_than_nanowires(campaign: Campaign) -> None:
    cc = formulation_features(campaign, formulation(filler_wt_pct=5.0))
    nw = formulation_features(campaign, formulation(filler="nanowire", filler_wt_pct=5.0))
    assert cc["interfacial_area_per_volume"] / nw["interfacial_area_per_volume"] == pytest.approx(
        70 / 0.95
    )


def test_polar_solvent_and_no_filler(campaign: Campaign) -> None:
    acn = formulation_features(campaign, formulation(solvent="ACN", thf_fraction=None))
    assert acn["solvent_dielectric"] == 37.5
    bare = formulation_features(campaign, formulation(filler="none", filler_wt_pct=None))
    assert bare["interfacial_area_per_volume"] == 0.0 and bare["percolation_ratio"] == 0.0
    assert not any(math.isnan(v) for v in bare.values())


def test_features_frame_keeps_the_index(campaign: Campaign) -> None:
    table = pd.DataFrame(
        [formulation(), formulation(filler="none", filler_wt_pct=None)], index=[10, 11]
    )
    out = features(campaign, table)
    assert list(out.index) == [10, 11] and list(out.columns) == list(FEATURES)
    assert salt_mass_fraction(8.0) > salt_mass_fraction(16.0)


def test_no_feature_encodes_the_virtual_labs_dispersion_rule(campaign: Campaign) -> None:
    """Cluster chains in THF/DCM and in ACN differ only by the stated solvent descriptor: no
    feature is 1 where the emulator's hidden rule says they disperse and 0 elsewhere."""
    thf = formulation_features(campaign, formulation())
    acn = formulation_features(campaign, formulation(solvent="ACN", thf_fraction=None))
    differing = {k for k in thf if thf[k] != pytest.approx(acn[k])}
    assert differing == {"solvent_dielectric"}
