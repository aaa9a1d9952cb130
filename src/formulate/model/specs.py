"""Surrogate specs: declarative families of surrogate models, named in campaign files.

Built-in specs ship with the package (``formulate/surrogate_specs/*.toml``); a file
``surrogates/NAME.toml`` in the working directory overrides a built-in of the same name or adds
a family.
"""

from __future__ import annotations

import math
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from formulate.errors import FormulateError, Problem
from formulate.model.encoding import Kind

USER_SPECS = Path("surrogates")


NOISE_PRIOR_MEDIANS = (0.2, math.exp(-4.0))
"""The noise priors an ``auto`` spec chooses between (median noise variance, as a share of the
outcome's variance): a lab's scatter, and BoTorch's default LogNormal(-4, 1)."""


Kernel = Literal["rbf", "matern"]
KERNELS: tuple[Kernel, ...] = ("rbf", "matern")
"""The kernels an ``auto`` spec chooses between."""


class SurrogateSpec(BaseModel):
    """A surrogate family.

    Attributes:
        encoding: ``onehot``, ``mixed`` or ``physics``.
        censoring: ``ep`` (the Tobit likelihood by expectation propagation: each censored
            value a Gaussian site of its own mean and variance), ``em`` (impute censored
            values against the posterior, as exact values), ``drop`` (ignore censored rows)
            or ``as_observed`` (treat the bound as the value); the last two are the naive
            treatments, kept for comparison.
        em_iterations: refits for ``ep`` and ``em``.
        noise_prior_median: median of the log-normal prior on the noise variance, as a
            fraction of the outcome's variance (0.2: lab data with 10-25% scatter; BoTorch's
            default, about 0.02, suits near-noiseless tables and made life models
            overconfident here: see bench/bench_surrogates.py; on the benchmark suite the
            choice made no significant difference on any member: docs/benchmarks/), or
            ``auto``: each fit tries both and keeps the one whose closed-form leave-one-out
            log density of the campaign's own data is higher (opt-in: two fits a model).
        kernel: ``rbf`` (BoTorch's default: a LogNormal length-scale prior scaled with the
            number of inputs), ``matern`` (BayBE's default: Matern-5/2, a Gamma prior of the
            same mode and lighter tails), or ``auto``: each fit tries both and keeps the one
            whose closed-form leave-one-out log density of the campaign's own data is higher
            (opt-in: two fits a model). RBF stays the default: neither of the others gained
            significantly on the benchmark suite (docs/benchmarks/README.md).
        auxiliary: measured intermediates (e.g. ``mobile_li_fraction``) whose GP predictions
            are appended to the inputs of every objective's GP (a two-stage model).
        choose_from: other families (two or more, none choosing itself); at each proposal the
            campaign uses the one whose objective models predict its own measured values best,
            each left out in turn (:func:`formulate.model.surrogates.chosen_spec`). The other
            keys of a choosing spec are not used. Opt-in: every family is fitted.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str = ""
    encoding: Kind = "onehot"
    censoring: Literal["ep", "em", "drop", "as_observed"] = "ep"
    em_iterations: int = 4
    noise_prior_median: Annotated[float, Field(gt=0, lt=10)] | Literal["auto"] = 0.2
    kernel: Literal["rbf", "matern", "auto"] = "rbf"
    auxiliary: tuple[str, ...] = ()
    choose_from: tuple[str, ...] = ()

    def noise_medians(self) -> tuple[float, ...]:
        """The noise-prior medians a fit tries (one unless ``auto``)."""
        median = self.noise_prior_median
        return NOISE_PRIOR_MEDIANS if median == "auto" else (float(median),)

    def kernels(self) -> tuple[Kernel, ...]:
        """The kernels a fit tries (one unless ``auto``)."""
        return KERNELS if self.kernel == "auto" else (self.kernel,)


def spec_names() -> list[str]:
    """Names of the available specs: the user's ``surrogates/`` folder, then built-ins."""
    names = {p.stem for p in _bundled().glob("*.toml")}
    if USER_SPECS.is_dir():
        names |= {p.stem for p in USER_SPECS.glob("*.toml")}
    return sorted(names)


def _bundled() -> Path:
    return Path(str(resources.files("formulate") / "surrogate_specs"))


def load_spec(name: str) -> SurrogateSpec:
    """The spec called ``name`` (``./surrogates/NAME.toml`` wins over the built-in)."""
    spec, path = _read(name)
    _check_choices(spec, path)
    return spec


def _read(name: str) -> tuple[SurrogateSpec, Path]:
    """The spec called ``name`` and its file, validated on its own."""
    for folder in (USER_SPECS, _bundled()):
        path = folder / f"{name}.toml"
        if path.is_file():
            try:
                spec = SurrogateSpec.model_validate(
                    {"name": name, **tomllib.loads(path.read_text())}
                )
            except tomllib.TOMLDecodeError as err:
                raise FormulateError(
                    f"{path} is not a valid surrogate spec", [Problem(str(path), str(err))]
                ) from None
            except ValidationError as err:
                keys = ", ".join(k for k in SurrogateSpec.model_fields if k != "name")
                problems = [
                    Problem(f"{path}: {'.'.join(map(str, e['loc']))}", e["msg"], f"keys: {keys}")
                    for e in err.errors()
                ]
                raise FormulateError(f"{path} is not a valid surrogate spec", problems) from None
            return spec, path
    raise FormulateError(
        f"no surrogate '{name}'", [Problem("surrogate", name, f"use one of {spec_names()}")]
    )


def _check_choices(spec: SurrogateSpec, path: Path) -> None:
    """A choosing spec names two or more families that exist and choose nothing themselves."""
    if not spec.choose_from:
        return
    where = f"{path}: choose_from"
    if len(set(spec.choose_from)) < 2:
        raise FormulateError(
            f"{path} is not a valid surrogate spec",
            [Problem(where, str(list(spec.choose_from)), "name two or more families")],
        )
    for family in spec.choose_from:
        try:
            chooses = family == spec.name or bool(_read(family)[0].choose_from)
        except FormulateError:
            raise FormulateError(
                f"{path} is not a valid surrogate spec",
                [Problem(where, family, f"use one of {spec_names()}")],
            ) from None
        if chooses:
            raise FormulateError(
                f"{path} is not a valid surrogate spec",
                [Problem(where, family, "name families that do not choose themselves")],
            )
