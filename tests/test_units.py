"""Units: lab notation in, canonical units out."""

from __future__ import annotations

import pytest

from formulate.units import parse_value


def test_conductivity_units_are_equivalent() -> None:
    assert parse_value("0.52 mS/cm", "S/cm").value == pytest.approx(5.2e-4)
    assert parse_value("5.2e-4 S/cm", "S/cm").value == pytest.approx(5.2e-4)
    assert parse_value("0.052 S/m", "S/cm").value == pytest.approx(5.2e-4)
    assert parse_value(0.52, "S/cm", unit="mS/cm").value == pytest.approx(5.2e-4)


def test_censored_life_and_time_units() -> None:
    running = parse_value(">1500 h", "h")
    assert running.censored and running.value == 1500
    assert parse_value("≥ 3 days", "h") == parse_value(">72", "h")
    assert not parse_value("400 h", "h").censored


def test_temperature_c_means_celsius_and_percent_fraction() -> None:
    assert parse_value("-50.51", "degC", unit="C").value == pytest.approx(-50.51)
    assert parse_value("223.15 K", "degC").value == pytest.approx(-50.0)
    assert parse_value("62%", "").value == pytest.approx(0.62)


@pytest.mark.parametrize("bad", ["abc", "1.2.3 h", "5 parsecs", "nan"])
def test_bad_values_raise_a_clear_error(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_value(bad, "h")


def test_wrong_dimension_is_rejected() -> None:
    with pytest.raises(ValueError, match="cannot read unit 'h' as S/cm"):
        parse_value("5 h", "S/cm")
