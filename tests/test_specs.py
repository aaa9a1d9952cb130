"""Surrogate specs: built-ins ship, a user's file overrides, mistakes are named."""

from __future__ import annotations

import pytest

from formulate.errors import FormulateError
from formulate.model.specs import load_spec, spec_names


def test_specs_ship_and_load() -> None:
    assert {"gp-onehot", "gp-mixed", "gp-physics"} <= set(spec_names())
    assert load_spec("gp-physics").encoding == "physics"
    with pytest.raises(FormulateError, match="no surrogate 'gp-magic'"):
        load_spec("gp-magic")
