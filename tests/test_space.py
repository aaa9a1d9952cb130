"""Design-space checks: conditions, forbidden combinations, bounds, linear constraints."""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import example, given, settings

from formulate.spec.campaign import Campaign, load_campaign
from formulate.spec.space import DesignSpace
from formulate.spec.variables import BOUND_TOL
from formulate.testing import TEMPLATE, formulation


def test_valid_formulation_is_cleaned(campaign: Campaign) -> None:
    clean, problems = campaign.space.check(formulation(filler_wt_pct="2.5"))
    assert problems == []
    assert clean["filler_wt_pct"] == 2.5 and clean["filler"] == "cluster_chain"


def test_conditional_variables(campaign: Campaign) -> None:
    space = campaign.space
    _, p = space.check(formulation(filler="none"))  # wt% set without filler
    assert [x.where for x in p] == ["formulation, column filler_wt_pct"]
    assert "only exists when filler is cluster_chain/nanowire" in p[0].what
    _, p = space.check(formulation(filler_wt_pct=None))
    assert "missing: this variable is active here" in p[0].what
    clean, p = space.check(formulation(solvent="ACN", thf_fraction=None))
    assert p == [] and clean["thf_fraction"] is None


def test_forbidden_combination_and_bad_values(campaign: Campaign) -> None:
    space = campaign.space
    _, p = space.check(formulation(polymer="PAN"))
    assert len(p) == 1 and "forbidden combination" in p[0].what
    _, p = space.check(formulation(filler="clusterchain", eo_li_ratio="lots"))
    text = " ".join(str(x) for x in p)
    assert "did you mean 'cluster_chain'" in text
    assert "'lots' is not a number" in text
    _, p = space.check(formulation(filler_wt_pct=20))
    assert "20 is above the upper bound" in p[0].what


def test_linear_constraint() -> None:
    space = DesignSpace.model_validate(
        {
            "variables": {
                "a": {"kind": "continuous", "low": 0, "high": 1},
                "b": {"kind": "continuous", "low": 0, "high": 1},
            },
            "linear_constraints": [{"coefficients": {"a": 1, "b": 1}, "op": "<=", "rhs": 1.2}],
        }
    )
    assert space.is_feasible({"a": 0.5, "b": 0.6})
    _, p = space.check({"a": 0.9, "b": 0.6})
    assert "1*a + 1*b <= 1.2" in p[0].what


PAPER = load_campaign(TEMPLATE)


@settings(max_examples=200)
@example(filler="none", wt=None, polymer="PEO", solvent="THF_DCM", thf=-1.4e-203, ratio=16.0).via(
    "the value that failed CI: inside the space's tolerance"
)
@example(filler="none", wt=None, polymer="PEO", solvent="THF_DCM", thf=-1e-8, ratio=16.0)
@given(
    filler=st.sampled_from(["none", "cluster_chain", "nanowire"]),
    wt=st.one_of(st.none(), st.floats(-5, 20)),
    polymer=st.sampled_from(["PEO", "PVDF_HFP", "PAN"]),
    solvent=st.sampled_from(["THF_DCM", "ACN", "DMF"]),
    thf=st.one_of(st.none(), st.floats(-0.5, 1.5)),
    ratio=st.floats(0, 40),
)
def test_check_accepts_exactly_the_valid_formulations(
    filler: str,
    wt: float | None,
    polymer: str,
    solvent: str,
    thf: float | None,
    ratio: float,
) -> None:
    raw = {
        "filler": filler,
        "filler_wt_pct": wt,
        "polymer": polymer,
        "solvent": solvent,
        "thf_fraction": thf,
        "eo_li_ratio": ratio,
    }
    _, problems = PAPER.space.check(raw)

    def within(x: float, low: float, high: float) -> bool:  # the space's own slack on bounds
        return low - BOUND_TOL <= x <= high + BOUND_TOL

    valid = (
        ((filler == "none") == (wt is None))
        and (wt is None or (within(wt, 0.5, 15) and abs(wt * 2 - round(wt * 2)) < 1e-6))
        and ((solvent == "THF_DCM") == (thf is not None))
        and (thf is None or within(thf, 0, 1))
        and within(ratio, 6, 30)
        and not (polymer in ("PVDF_HFP", "PAN") and solvent == "THF_DCM")
    )
    assert (problems == []) == valid


def test_samples_are_feasible_reproducible_and_cover_the_levels(campaign: Campaign) -> None:
    samples = campaign.space.sample(300, seed=4)
    assert all(campaign.space.is_feasible(s) for s in samples)
    assert samples[:5] == campaign.space.sample(5, seed=4)[:5]
    assert {s["filler"] for s in samples} == {"none", "cluster_chain", "nanowire"}
    assert {s["polymer"] for s in samples} == {"PEO", "PVDF_HFP", "PAN"}
    assert all(s["thf_fraction"] is None for s in samples if s["solvent"] != "THF_DCM")
