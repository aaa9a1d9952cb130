"""Campaign: a design space, objectives, a strategy and where its data lives.

Defined in ``campaigns/<name>/campaign.toml`` and validated once into an immutable
:class:`Campaign`; every problem in the file is reported at once, with its key and the fix.
"""

from __future__ import annotations

import os
import re
import shutil
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from formulate.errors import FormulateError, Problem
from formulate.spec.film import FilmRisk, risk_problems
from formulate.spec.instruments import DEFAULTS, Measurement
from formulate.spec.levels import with_level_tables
from formulate.spec.objectives import Objective, OutcomeConstraint
from formulate.spec.priors import Prior, prior_problems
from formulate.spec.properties import BUILTIN_PROPERTIES, Property
from formulate.spec.scatter import Scatter
from formulate.spec.space import DesignSpace, SpecProblems
from formulate.spec.strategies import (
    DEFAULT_STRATEGY,
    MIN_MEASURED,
    STRATEGIES,
    WARM_UP_STRATEGY,
    objectives_problems,
    one_objective_default,
)
from formulate.units import convert

Provenance = Literal["stated", "measured", "emulated", "imported"]
MEASUREMENT_PROVENANCES: tuple[str, ...] = ("stated", "measured", "emulated", "imported")
"""Where a value comes from: the paper's text, a lab, the virtual lab, another table."""
PROVENANCES: tuple[str, ...] = (*MEASUREMENT_PROVENANCES, "proposed")
"""Where a membrane comes from: as for values, or ``proposed`` (a planner's pending proposal,
until its first outcome arrives)."""
CAMPAIGN_FILE = "campaign.toml"
DEFAULT_SURROGATE = "gp-physics"
"""The surrogate family a campaign uses unless it names one: it had the best NLPD for life and
t+ at 10-40 membranes on the virtual lab (bench/bench_surrogates.py); gp-physics-aux is better
still where the intermediates are measured on every membrane."""
DB_ENV = "FORMULATE_DB_URL"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Strategy(_Frozen):
    """Defaults for proposing the next batch."""

    acquisition: str = DEFAULT_STRATEGY
    batch_size: int = Field(default=4, ge=1, le=96)
    seed: int = 0
    surrogate: str = DEFAULT_SURROGATE
    min_measured: int = Field(default=MIN_MEASURED, ge=MIN_MEASURED, le=1000)
    """The warm-up rule: a model-based strategy proposes the warm-up strategy's space-filling
    batch (``sobol``) until every objective is measured on this many membranes, unless a
    ``[[prior]]`` source whose own model predicts its own rows stands in until then."""
    transfer: Literal["stacked", "multitask", "autoregressive"] = "stacked"
    """How the surrogates learn from ``[[prior]]`` sources: ``stacked`` (each source's own GP
    predicts every candidate; the prior mean follows it as far as the campaign's data say),
    ``multitask`` (each source a task of a multi-task GP, its correlation learned) or
    ``autoregressive`` (the same tasks; the campaign a learned multiple of the sources' function
    plus its own difference). Chosen on the transfer tasks (``docs/benchmarks/transfer.md``):
    stacked, the only one that helped on all four with a related source and hurt none."""

    def warm_up_rule(self) -> str:
        """The warm-up rule in words."""
        return (
            f"{WARM_UP_STRATEGY} until each objective is measured on {self.min_measured} membranes"
        )

    @field_validator("acquisition")
    @classmethod
    def _known_strategy(cls, name: str) -> str:
        if name not in STRATEGIES:
            raise ValueError(f"unknown strategy '{name}'; use one of {list(STRATEGIES)}")
        return name


class SeedFile(_Frozen):
    """A data file loaded into the campaign's store the first time the store is opened."""

    file: str
    provenance: Provenance = "imported"
    description: str = ""


class StoreSettings(_Frozen):
    """Where the records live: a database URL; empty means ``formulate.db`` in the folder."""

    url: str = ""


class Campaign(_Frozen):
    """A validated campaign. ``folder`` is where ``campaign.toml`` lives."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", allow_inf_nan=False, populate_by_name=True
    )

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    """The campaign's id in its store: letters, digits, ``_ . -`` (the folder's name)."""
    title: str = ""
    """One line for people (the app's header)."""
    description: str = ""
    folder: Path
    reference_temperature_C: float = 25.0
    """The temperature (C) of a value logged without one ("room temperature")."""
    space: DesignSpace
    """``[space]``: the variables and the rules between them."""
    objectives: tuple[Objective, ...] = Field(min_length=1)
    """``[[objectives]]``: what the planner optimizes (one or more)."""
    outcome_constraints: tuple[OutcomeConstraint, ...] = ()
    """``[[outcome_constraints]]``: measured properties that must stay above or below a bound."""
    properties: dict[str, Property] = Field(default_factory=dict)
    """``[properties.NAME]``: the campaign's own measurable properties (beside the built-in)."""
    display_units: dict[str, str] = Field(default_factory=dict)
    """``[display_units]``: the unit people read and type a property in (conductivity: mS/cm);
    a number without a unit is in this unit."""
    scatter: dict[str, Scatter] = Field(default_factory=dict)
    """``[scatter]``: replicate scatter per property (see :mod:`formulate.spec.scatter`)."""
    film_risks: tuple[FilmRisk, ...] = ()
    """``[[film_risks]]``: stated chances that a film forms (see :mod:`formulate.spec.film`)."""
    columns: dict[str, str] = Field(default_factory=dict)
    """``[columns]``: a variable or property named here as its column is headed in the lab's
    tables (``ionic_conductivity = "Conductivity (measured) (S/cm)"``); imports and pools read
    that header as the name."""
    strategy: Strategy = Strategy()
    """``[strategy]``: how the next batch is chosen (acquisition, batch size, surrogate)."""
    measurements: dict[str, Measurement] = Field(default_factory=dict)
    """``[measurements.<property>]``: how long a measurement takes and on how many
    instruments (see :func:`measurement`)."""
    seed_data: tuple[SeedFile, ...] = ()
    """``[[seed_data]]``: CSV files imported when the campaign first enters its store."""
    store: StoreSettings = StoreSettings()
    """``[store]``: where the records live (a database URL; default the folder's SQLite file)."""
    priors: tuple[Prior, ...] = Field(default=(), alias="prior")
    """``[[prior]]``: earlier campaigns and tables the surrogates learn from (never the
    campaign's own membranes; see :mod:`formulate.spec.priors`)."""

    @model_validator(mode="after")
    def _references(self) -> Campaign:
        problems: list[Problem] = []
        known = self.all_properties()
        for i, obj in enumerate(self.objectives):
            prop = known.get(obj.property)
            if prop is None:
                problems.append(_unknown_property(f"objectives[{i}].property", obj.property, known))
            elif obj.unit is not None and obj.unit != prop.unit:
                problems.append(
                    Problem(
                        f"objectives[{i}].unit",
                        f"'{obj.unit}' is not the canonical unit of {obj.property}",
                        f'write unit = "{prop.unit}"',
                    )
                )
            if obj.transform == "logit" and prop and (prop.low, prop.high) != (0.0, 1.0):
                problems.append(
                    Problem(
                        f"objectives[{i}].transform",
                        "logit needs a property in [0, 1]",
                        "use log10 or none",
                    )
                )
        names = [o.property for o in self.objectives]
        if len(set(names)) != len(names):
            problems.append(Problem("objectives", "an objective is listed twice", "list each once"))
        problems += objectives_problems(self.strategy.acquisition, len(names))
        for i, con in enumerate(self.outcome_constraints):
            if con.property not in known:
                problems.append(
                    _unknown_property(f"outcome_constraints[{i}].property", con.property, known)
                )
        problems += self._display_unit_problems(known)
        problems += risk_problems(self.film_risks, self.space)
        problems += [
            _unknown_property(f"{table}.{name}", name, known)
            for table, names in (("measurements", self.measurements), ("scatter", self.scatter))
            for name in names
            if name not in known
        ]
        problems += [
            Problem(f"columns.{name}", "neither a variable nor a property", "name one of them")
            for name in self.columns
            if name not in known and name not in self.space.variables
        ]
        for i, seed in enumerate(self.seed_data):
            if not (self.folder / seed.file).is_file():
                problems.append(
                    Problem(
                        f"seed_data[{i}].file",
                        f"no file '{seed.file}' in {self.folder}",
                        "fix the name or remove the entry",
                    )
                )
        known_names = {*self.space.variables, *known}
        problems += prior_problems(self.priors, self.folder, known_names, CAMPAIGN_FILE)
        if problems:
            raise SpecProblems(problems)
        return self

    def prior_path(self, prior: Prior) -> Path:
        """Where a source lives: its table or campaign folder, relative to this folder."""
        return prior.path(self.folder)

    def _display_unit_problems(self, known: dict[str, Property]) -> list[Problem]:
        problems = []
        for name, unit in self.display_units.items():
            if name not in known:
                problems.append(_unknown_property(f"display_units.{name}", name, known))
                continue
            try:
                convert(1.0, known[name].unit, unit)
            except ValueError:
                problems.append(
                    Problem(
                        f"display_units.{name}",
                        f"'{unit}' is not a unit of {name} (stored in {known[name].unit or '-'})",
                        f'write a unit of the same kind, e.g. "{known[name].unit}"',
                    )
                )
        return problems

    def display_unit(self, prop: str) -> str:
        """The unit people read ``prop`` in: the campaign's ``[display_units]`` choice, else
        the property's own (mS/cm for conductivity), else its canonical unit."""
        known = self.all_properties()[prop]
        return self.display_units.get(prop) or known.display_unit or known.unit

    def label(self, prop: str) -> str:
        """The short name a lab uses for ``prop`` (``conductivity``, ``t+``), else its name."""
        return self.all_properties()[prop].label or prop

    def to_display(self, prop: str, values: Any) -> np.ndarray:
        """Values of ``prop`` (array-like, canonical unit) in its display unit."""
        x = np.asarray(values, dtype=float)
        canonical, shown = self.all_properties()[prop].unit, self.display_unit(prop)
        if shown == canonical:
            return x
        offset = convert(0.0, canonical, shown)
        return offset + (convert(1.0, canonical, shown) - offset) * x

    def measurement(self, prop: str) -> Measurement:
        """How ``prop`` is measured: the campaign's ``[measurements]``, else the default."""
        return self.measurements.get(prop) or DEFAULTS.get(prop) or Measurement()

    def all_properties(self) -> dict[str, Property]:
        """Built-in properties plus the campaign's own (the campaign's win)."""
        return {**BUILTIN_PROPERTIES, **self.properties}

    def temperature_of(self, prop: str, temperature_C: float | None) -> float | None:
        """The measurement temperature of a value of ``prop`` (C): as given, else the
        reference temperature for a temperature-dependent property, else None."""
        if temperature_C is None and self.all_properties()[prop].at_temperature:
            return self.reference_temperature_C
        return temperature_C

    def censorable(self) -> list[str]:
        """Properties whose values may be right-censored."""
        props = self.all_properties()
        out = {name for name, p in props.items() if p.censorable}
        out |= {o.property for o in self.objectives if o.censorable}
        return sorted(out - {o.property for o in self.objectives if o.censorable is False})

    def store_url(self) -> str:
        """Database URL: ``$FORMULATE_DB_URL``, else the file's ``[store] url``, else SQLite."""
        url = os.environ.get(DB_ENV) or self.store.url
        return url or f"sqlite:///{(self.folder / 'formulate.db').absolute()}"


def _unknown_property(key: str, name: str, known: dict[str, Property]) -> Problem:
    return Problem(
        key,
        f"unknown property '{name}'",
        f"use one of {sorted(known)} or declare it under [properties.{name}]",
    )


def campaign_dir(ref: str | Path, root: Path | None = None) -> Path:
    """Resolve a campaign reference: a folder, a ``campaign.toml``, or a name under
    ``campaigns/`` (relative to ``root`` or the working directory)."""
    path = Path(ref)
    if path.name == CAMPAIGN_FILE:
        path = path.parent
    if (path / CAMPAIGN_FILE).is_file():
        return path
    base = (root or Path.cwd()) / "campaigns"
    if (base / str(ref) / CAMPAIGN_FILE).is_file():
        return base / str(ref)
    known = sorted(p.parent.name for p in base.glob(f"*/{CAMPAIGN_FILE}")) if base.is_dir() else []
    raise FormulateError(
        f"no campaign '{ref}': neither a folder with {CAMPAIGN_FILE} nor a name under {base}",
        [
            Problem(
                str(ref),
                "not found",
                f"use one of {known}" if known else "run 'formulate init NAME' first",
            )
        ],
    )


def load_campaign(ref: str | Path, root: Path | None = None) -> Campaign:
    """Read and validate a campaign: a folder with ``campaign.toml``, a name under
    ``campaigns/``, or any ``.toml`` campaign file (a pool's ``past.toml``); raise
    :class:`FormulateError` listing every problem."""
    path = Path(ref)
    if path.suffix == ".toml" and path.is_file():
        folder, file = path.parent, path
    else:
        folder = campaign_dir(ref, root)
        file = folder / CAMPAIGN_FILE
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise FormulateError(
            f"{file} is not valid TOML", [Problem(str(file), str(err), "fix the line named")]
        ) from None
    except UnicodeDecodeError as err:
        raise FormulateError(
            f"{file} is not UTF-8 text",
            [Problem(str(file), f"byte {err.start} cannot be read", "save it as UTF-8")],
        ) from None
    return campaign_from_dict(raw, folder, source=str(file))


def campaign_from_dict(raw: dict[str, Any], folder: Path, source: str = CAMPAIGN_FILE) -> Campaign:
    """Validate a parsed campaign file (``source`` names it in messages)."""
    data = one_objective_default(dict(raw))
    space_keys = ("variables", "forbidden", "linear_constraints")
    data["space"] = {k: data.pop(k) for k in space_keys if k in data}
    data["folder"] = folder.resolve()
    if isinstance(data["space"].get("variables"), dict):
        variables, problems = with_level_tables(data["space"]["variables"], folder, source)
        if problems:
            raise FormulateError(f"{source} has errors", problems)
        data["space"]["variables"] = variables
    try:
        return Campaign.model_validate(data)
    except ValidationError as err:
        problems = [_problem_from_pydantic(source, e) for e in err.errors()]
        problems += [Problem(f"{source}: {p.where}", p.what, p.fix) for p in _unknown_names(raw)]
        raise FormulateError(f"{source} has errors", problems) from None
    except SpecProblems as err:
        problems = [Problem(f"{source}: {p.where}", p.what, p.fix) for p in err.problems]
        raise FormulateError(f"{source} has errors", problems) from None


def _unknown_names(raw: dict[str, Any]) -> list[Problem]:
    """Objectives and constraints naming an undeclared property, read from the raw file: listed
    with the file's other errors (the model's own check runs only once the rest is valid)."""
    declared = raw.get("properties")
    known = {
        **BUILTIN_PROPERTIES,
        **dict.fromkeys(declared if isinstance(declared, dict) else {}, Property()),
    }
    problems = []
    for key in ("objectives", "outcome_constraints"):
        entries = raw.get(key)
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            name = entry.get("property") if isinstance(entry, dict) else None
            if isinstance(name, str) and name not in known:
                problems.append(_unknown_property(f"{key}[{i}].property", name, known))
    return problems


def _problem_from_pydantic(source: str, error: Any) -> Problem:
    loc = [str(p) for p in error["loc"] if p not in ("space",)]
    # drop the union tag pydantic adds for discriminated variables (e.g. 'continuous')
    if (
        len(loc) >= 3
        and loc[0] == "variables"
        and loc[2] in ("continuous", "discrete", "categorical")
    ):
        del loc[2]
    key = ".".join(loc) or "(top level)"
    what = error["msg"]
    fix = ""
    if error["type"] == "extra_forbidden":
        what, fix = "unknown key", "remove it or check its spelling"
    elif error["type"] == "missing":
        what, fix = "missing", "add this key"
    elif error["type"] == "union_tag_invalid" or error["type"] == "union_tag_not_found":
        fix = 'set kind = "continuous", "discrete" or "categorical"'
    return Problem(f"{source}: {key}", what, fix)


def template_dir(template: str) -> Path:
    """A bundled template by name (``cheng2023``), or a campaign folder to copy."""
    bundled = Path(str(resources.files("formulate") / "templates" / template))
    if (bundled / CAMPAIGN_FILE).is_file():
        return bundled
    path = Path(template)
    if (path / CAMPAIGN_FILE).is_file():
        return path
    names = sorted(p.name for p in bundled.parent.iterdir() if (p / CAMPAIGN_FILE).is_file())
    raise FormulateError(
        f"no template '{template}'",
        [Problem("template", template, f"use one of {names} or a folder")],
    )


BLANK_TEMPLATE = "blank"
"""The default template: the paper's kind of design space, commented, with no data and the new
campaign's own title (``cheng2023`` is the paper's campaign with its stated membranes)."""


def init_campaign(
    name: str, template: str = BLANK_TEMPLATE, folder: Path = Path("campaigns")
) -> Campaign:
    """Create ``folder/name`` from a template (its data files come along; no database). From
    the blank template the campaign's title is its name."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise FormulateError(
            f"bad campaign name '{name}'",
            [Problem("name", name, "use letters, digits, '.', '_' and '-'")],
        )
    target = folder / name
    if target.exists():
        raise FormulateError(
            f"{target} already exists", [Problem(str(target), "exists", "choose another name")]
        )
    source = template_dir(template)
    old = load_campaign(source).name
    shutil.copytree(
        source, target, ignore=shutil.ignore_patterns("*.db*", "__pycache__", ".formulate-cache")
    )
    toml = target / CAMPAIGN_FILE
    text = toml.read_text(encoding="utf-8")
    text = text.replace(f'name = "{old}"', f'name = "{name}"', 1)
    if template == BLANK_TEMPLATE:
        text = text.replace(f'title = "{BLANK_TEMPLATE}"', f'title = "{name}"', 1)
    toml.write_text(text, encoding="utf-8")
    return load_campaign(target)


VERSIONS = "versions"
"""Where earlier versions of a campaign file are kept (``versions/campaign.<n>.toml``)."""


def edited_campaign(campaign: Campaign, text: str) -> Campaign:
    """``text`` (TOML) read as a new version of ``campaign``; writes nothing.

    Raises:
        FormulateError: every problem of ``text`` with its key and the fix, or a new name
            (the campaign's data is stored under its name).
    """
    source = "the edited campaign"
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise FormulateError(
            f"{source} is not valid TOML", [Problem(source, str(err), "fix the line named")]
        ) from None
    if raw.get("name") != campaign.name:
        raise FormulateError(
            f"{source} renames the campaign",
            [
                Problem(
                    "name", "its data is stored under its name", f'keep name = "{campaign.name}"'
                )
            ],
        )
    return campaign_from_dict(raw, campaign.folder, source=source)


def save_version(campaign: Campaign, text: str) -> Campaign:
    """Replace ``campaign``'s file by ``text`` (TOML) as its next version, the current file kept
    under ``versions/``; the store and its data are untouched. Nothing is written unless
    :func:`edited_campaign` reads ``text``.

    Raises:
        FormulateError: as :func:`edited_campaign`.
    """
    edited = edited_campaign(campaign, text)
    folder = campaign.folder / VERSIONS
    folder.mkdir(exist_ok=True)
    number = 1 + max((int(p.suffixes[0][1:]) for p in folder.glob("campaign.*.toml")), default=0)
    file = campaign.folder / CAMPAIGN_FILE
    shutil.copy2(file, folder / f"campaign.{number}.toml")
    file.write_text(text, encoding="utf-8")
    return edited
