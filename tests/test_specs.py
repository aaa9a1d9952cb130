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


def test_a_user_spec_names_its_kernel_and_a_wrong_one_is_named(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "surrogates").mkdir()
    path = tmp_path / "surrogates" / "mine.toml"
    path.write_text('encoding = "onehot"\nkernel = "auto"\n')
    assert load_spec("mine").kernels() == ("rbf", "matern")
    assert load_spec("gp-physics").kernels() == ("rbf",)
    path.write_text('encoding = "onehot"\nkernel = "laplace"\n')
    with pytest.raises(FormulateError, match="not a valid surrogate spec") as err:
        load_spec("mine")
    (problem,) = err.value.problems
    assert problem.where.endswith("mine.toml: kernel")
    assert "'rbf', 'matern' or 'auto'" in problem.what
    path.write_text('encoding = "onehot"\nkernels = "auto"\n')  # a typo in a key
    with pytest.raises(FormulateError) as err:
        load_spec("mine")
    assert err.value.problems[0].where.endswith("mine.toml: kernels")
    assert "kernel" in err.value.problems[0].fix.split("keys: ")[1].split(", ")


def test_a_choosing_spec_names_real_families_and_a_wrong_choice_is_named(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "surrogates").mkdir()
    path = tmp_path / "surrogates" / "pick.toml"
    path.write_text('choose_from = ["gp-physics", "gp-mixed"]\n')
    assert load_spec("pick").choose_from == ("gp-physics", "gp-mixed")
    assert load_spec("gp-chosen").choose_from == ("gp-physics", "gp-mixed")  # the built-in
    for families, named, fix in [
        ('["gp-physics"]', "['gp-physics']", "two or more"),
        ('["gp-physics", "gp-magic"]', "gp-magic", "use one of"),
        ('["gp-physics", "pick"]', "pick", "do not choose"),
        ('["gp-mixed", "gp-chosen"]', "gp-chosen", "do not choose"),
    ]:
        path.write_text(f"choose_from = {families}\n")
        with pytest.raises(FormulateError, match="not a valid surrogate spec") as err:
            load_spec("pick")
        (problem,) = err.value.problems
        assert problem.where.endswith("pick.toml: choose_from")
        assert problem.what == named and fix in problem.fix
