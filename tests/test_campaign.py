"""Campaign files: valid ones load into immutable objects; every problem is reported at once."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pydantic
import pytest

from formulate.errors import FormulateError
from formulate.report.summary import describe
from formulate.spec.campaign import Campaign, campaign_from_dict, load_campaign
from formulate.testing import TEMPLATE


def raw_spec() -> dict:
    return tomllib.loads((TEMPLATE / "campaign.toml").read_text())


def problems_of(raw: dict, folder: Path = TEMPLATE) -> list[str]:
    with pytest.raises(FormulateError) as info:
        campaign_from_dict(raw, folder, source="bad.toml")
    return [str(p) for p in info.value.problems]


def assert_problems(raw: dict, *expected: str) -> None:
    """``raw`` is refused with one problem per expected fragment, each fragment in the text."""
    found = problems_of(raw)
    text = "\n".join(found)
    assert len(found) == len(expected), found
    for fragment in expected:
        assert fragment in text, (fragment, text)


def test_template_loads_with_its_space_and_objectives(campaign: Campaign) -> None:
    assert campaign.name == "cheng2023"
    assert campaign.space.names() == [
        "filler",
        "filler_wt_pct",
        "polymer",
        "solvent",
        "thf_fraction",
        "eo_li_ratio",
    ]
    assert [o.property for o in campaign.objectives] == [
        "ionic_conductivity",
        "transference_number",
        "li_symmetric_life",
    ]
    assert campaign.censorable() == ["li_symmetric_life"]
    filler = campaign.space.variables["filler"]
    assert filler.levels["cluster_chain"]["diameter_nm"] == 0.95  # type: ignore[union-attr]
    assert campaign.space.variables["filler_wt_pct"].grid[:3] == (0.5, 1.0, 1.5)  # type: ignore[union-attr]


def test_campaign_is_immutable(campaign: Campaign) -> None:
    with pytest.raises(pydantic.ValidationError):
        campaign.name = "other"  # type: ignore[misc]


def test_every_field_problem_is_reported_at_once_with_key_and_fix() -> None:
    raw = raw_spec()
    raw["variables"]["thf_fraction"]["low"] = "zero"  # not a number
    raw["variables"]["eo_li_ratio"]["kind"] = "integer"  # unknown kind
    raw["variables"]["filler_wt_pct"]["colour"] = "red"  # unknown key
    raw["objectives"][0]["direction"] = "up"  # bad literal
    del raw["objectives"][1]["property"]  # missing key
    found = problems_of(raw)
    assert len(found) == 5
    text = "\n".join(found)
    assert "bad.toml: variables.thf_fraction.low" in text
    assert "variables.eo_li_ratio" in text and "kind" in text
    assert "variables.filler_wt_pct.colour: unknown key" in text
    assert "objectives.0.direction" in text
    assert "objectives.1.property: missing (fix: add this key)" in text


def test_bounds_and_grids_are_checked() -> None:
    raw = raw_spec()
    raw["variables"]["thf_fraction"].update(low=1.0, high=0.0)
    raw["variables"]["filler_wt_pct"].update(values=[1.0, 2.0])  # both grid forms
    text = "\n".join(problems_of(raw))
    assert "low (1.0) must be below high (0.0)" in text
    assert "either 'values' or 'low', 'high' and 'step'" in text


def test_cross_references_are_checked_all_at_once() -> None:
    raw = raw_spec()
    raw["variables"]["filler_wt_pct"]["active_when"] = {"filler": ["nanorod"]}
    raw["variables"]["thf_fraction"]["active_when"] = {"temperature": ["hot"]}
    raw["forbidden"][0]["when"]["solvent"] = ["THF/DCM"]
    raw["linear_constraints"] = [{"coefficients": {"polymer": 1.0}, "op": "<=", "rhs": 1}]
    assert_problems(
        raw,
        "'nanorod' is not a level of 'filler'",
        "'temperature' is not a categorical variable",
        "'THF/DCM' is not a level of 'solvent'",
        "linear_constraints[0].coefficients.polymer",
    )


def test_objectives_and_constraints_must_name_known_properties() -> None:
    raw = raw_spec()
    raw["objectives"][0]["property"] = "conductivity"
    raw["objectives"][2]["unit"] = "days"
    raw["objectives"][1]["transform"] = "logit"
    raw["objectives"].append({"property": "li_symmetric_life", "transform": "logit"})
    raw["outcome_constraints"][0]["property"] = "window"
    text = "\n".join(problems_of(raw))
    assert "unknown property 'conductivity'" in text
    assert "'days' is not the canonical unit of li_symmetric_life" in text
    assert "logit needs a property in [0, 1]" in text
    assert "an objective is listed twice" in text
    assert "unknown property 'window'" in text


def test_missing_seed_file_and_bad_toml(tmp_path: Path) -> None:
    raw = raw_spec()
    raw["seed_data"][0]["file"] = "nope.csv"
    assert any("no file 'nope.csv'" in p for p in problems_of(raw))
    (tmp_path / "campaign.toml").write_text("name = [unclosed")
    with pytest.raises(FormulateError, match="not valid TOML"):
        load_campaign(tmp_path)


def test_unknown_campaign_names_the_known_ones(tmp_path: Path, campaign_dir: Path) -> None:
    with pytest.raises(FormulateError) as info:
        load_campaign("nosuch", root=campaign_dir.parent.parent)
    assert "cheng2023" in info.value.message()


def test_store_url_defaults_to_sqlite_file_and_env_overrides(
    campaign: Campaign, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert campaign.store_url() == f"sqlite:///{campaign.folder / 'formulate.db'}"
    monkeypatch.setenv("FORMULATE_DB_URL", "postgresql+psycopg://lab@server/formulate")
    assert campaign.store_url() == "postgresql+psycopg://lab@server/formulate"


def test_measurements_state_durations_and_instruments() -> None:
    raw = raw_spec()
    spec = campaign_from_dict(raw, TEMPLATE)
    life = spec.measurement("li_symmetric_life")
    assert (life.duration_days, life.instruments, life.horizon_h) == (62.5, 8, 1500.0)
    assert spec.measurement("transference_number").duration_days == 3.0  # the default
    assert spec.measurement("crystallinity").instruments == 1
    raw["measurements"] = {"conductivity": {"days": 1}, "ionic_conductivity": {"instruments": 0}}
    text = "\n".join(problems_of(raw))
    assert "measurements.conductivity.days: unknown key" in text
    assert "measurements.ionic_conductivity.instruments" in text


def test_scatter_is_a_number_or_a_percentage_of_a_known_property() -> None:
    spec = campaign_from_dict(raw_spec(), TEMPLATE)
    assert spec.scatter["ionic_conductivity"].cv == pytest.approx(0.10)
    assert spec.scatter["transference_number"].sd == pytest.approx(0.03)
    assert "replicate scatter 25%" in "\n".join(describe(spec))
    raw = raw_spec()
    raw["scatter"] = {"li_symmetric_life": "a quarter", "conductivity": "10%"}
    text = "\n".join(problems_of(raw))
    assert "scatter.li_symmetric_life" in text and "'a quarter' is not a scatter" in text
    assert 'or a percentage ("10%")' in text
    raw["scatter"] = {"conductivity": "10%"}
    assert "scatter.conductivity: unknown property 'conductivity'" in "\n".join(problems_of(raw))


def test_film_risks_name_variables_levels_and_ranges_inside_the_bounds() -> None:
    spec = campaign_from_dict(raw_spec(), TEMPLATE)
    assert len(spec.film_risks) == 3
    assert "eo_li_ratio 6-8: 50% chance to form" in "\n".join(describe(spec))
    raw = raw_spec()
    raw["film_risks"] = [
        {"when": {"salt_ratio": [6, 8]}, "chance": 0.5},
        {"when": {"filler": ["nanorod"]}, "chance": 0.5},
        {"when": {"eo_li_ratio": [40, 50]}, "chance": 0.5},
        {"when": {"eo_li_ratio": [9, 8]}, "chance": 0.5},
    ]
    assert_problems(
        raw,
        "film_risks[0].when.salt_ratio: 'salt_ratio' is not a variable",
        "film_risks[1].when.filler: ['nanorod'] are not levels of filler",
        "[40.0, 50.0] lies outside eo_li_ratio's bounds 6-30",
        "film_risks[3].when.eo_li_ratio: [9.0, 8.0] is not a range",
    )
    raw["film_risks"] = [{"when": {"eo_li_ratio": [6, 8]}, "chance": 1.0}]
    assert any("film_risks.0.chance" in p for p in problems_of(raw))


def test_one_objective_gets_qlognei_unless_told_and_a_pareto_acquisition_is_refused() -> None:
    raw = raw_spec()
    raw["objectives"] = raw["objectives"][:1]
    raw.get("strategy", {}).pop("acquisition", None)
    one = campaign_from_dict(raw, TEMPLATE)
    assert one.strategy.acquisition == "qlognei"  # qLogNEHVI needs two objectives
    raw["strategy"] = {**raw.get("strategy", {}), "acquisition": "qlognehvi"}
    assert_problems(raw, "strategy.acquisition: 'qlognehvi' needs two or more objectives")
    raw["strategy"]["acquisition"] = "parego"
    assert_problems(raw, 'write acquisition = "qlognei"')
