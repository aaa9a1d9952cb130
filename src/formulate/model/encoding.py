"""Encodings: formulations (DataFrame rows) -> model inputs (float64 tensors, ``n x d``).

* ``onehot``: numeric variables scaled to [0, 1] of their range on their scale (log10 for a
  ``scale = "log"`` variable), categoricals one-hot;
* ``physics``: numeric variables scaled, then the physics features of
  :mod:`formulate.model.physics` and each categorical level's descriptors (min-max scaled over the
  levels) instead of one-hot columns. A categorical without descriptors is one column of level
  indices, for BoTorch's mixed categorical kernel (``cat_dims`` gives those columns), where
  the campaign has numeric variables too; one-hot where every variable is categorical (there
  the one-hot length-scales tell the levels apart) or where prior sources are tasks of a
  multi-task GP (which has no categorical kernel). Decided on the benchmark suite
  (docs/benchmarks/README.md).
* ``mixed``: ``physics``, with every categorical without descriptors on the categorical kernel.
  On a campaign whose categoricals all have descriptors the two are the same encoding.

An inactive numeric variable (no ``filler_wt_pct`` without a filler) is encoded as 0.

A two-stage surrogate family appends the posterior means of its auxiliary GPs to one of these
(:class:`StackedEncoder`); every model of a proposal shares the one encoding.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd
import torch

from formulate.model.physics import FEATURES, features
from formulate.spec.campaign import Campaign

Kind = Literal["onehot", "mixed", "physics"]


class Auxiliary(Protocol):
    """A fitted model of an auxiliary property (``surrogates.ObjectiveModel``): what a
    stacked encoding reads of it. A protocol, so this module needs no import of surrogates."""

    objective: str

    def predict_scale(self, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]: ...


# Physics features are min-max scaled over a fixed reference sample of the design space, so
# in-space inputs lie in [0, 1]; area and percolation ratio span decades and are log-scaled.
_LOG_FEATURES = {"interfacial_area_per_volume", "percolation_ratio"}
_REFERENCE_SAMPLES = 512


def by_tasks(campaign: Campaign) -> bool:
    """Whether the campaign learns from prior sources as tasks of one GP (``multitask``,
    ``autoregressive``)."""
    return bool(campaign.priors) and campaign.strategy.transfer != "stacked"


@dataclass
class Encoder:
    """Turns a campaign's formulations into model inputs.

    Attributes:
        columns: the name of each encoded column (``d`` of them).
        cat_dims: columns holding categorical level indices (for the categorical kernel).
    """

    campaign: Campaign
    kind: Kind
    columns: list[str] = field(init=False)
    cat_dims: list[int] = field(init=False)
    _span: dict[str, tuple[float, float]] = field(init=False, default_factory=dict)
    _codes: dict[str, tuple[list[int], torch.Tensor | None]] = field(
        init=False, default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        space = self.campaign.space
        self.columns = list(space.numeric_names())
        self.cat_dims = []
        for name in space.categorical_names():
            levels = space.levels(name)
            if self._indexed(name):
                self.cat_dims.append(len(self.columns))
                self.columns.append(name)
            elif self.kind == "onehot" or not _descriptor_keys(levels):
                self.columns += [f"{name}={lvl}" for lvl in levels]
            else:
                self.columns += [f"{name}.{k}" for k in _descriptor_keys(levels)]
        if self.kind != "onehot" and _has_physics(self.campaign):
            self.columns += list(FEATURES)
            self._span = _spans(self.campaign)

    @property
    def dim(self) -> int:
        return len(self.columns)

    def _indexed(self, name: str) -> bool:
        """Whether categorical ``name`` is one column of level indices for the categorical
        kernel: no descriptors, and a ``mixed`` encoding or a ``physics`` one beside numeric
        variables without multi-task sources (see the module)."""
        if _descriptor_keys(self.campaign.space.levels(name)) or self.kind == "onehot":
            return False
        numbers = bool(self.campaign.space.numeric_names())
        return self.kind == "mixed" or (numbers and not by_tasks(self.campaign))

    def encode(self, table: pd.DataFrame) -> torch.Tensor:
        """``n x d`` float64 tensor for the formulation columns of ``table``."""
        space = self.campaign.space
        parts: list[np.ndarray] = []
        for name in space.numeric_names():
            values = pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=float)
            parts.append(np.nan_to_num(space.to_unit(name, values), nan=0.0)[:, None])
        for name in space.categorical_names():
            levels = space.levels(name)
            names = list(levels)
            codes = np.array([names.index(str(v)) for v in table[name]], dtype=int)
            if self._indexed(name):
                parts.append(codes[:, None].astype(float))
            elif self.kind == "onehot" or not _descriptor_keys(levels):
                parts.append(np.eye(len(names))[codes])
            else:
                for k in _descriptor_keys(levels):
                    col = np.array([levels[n][k] for n in names])
                    scaled = (col - col.min()) / (col.max() - col.min())
                    parts.append(scaled[codes][:, None])
        if self.kind != "onehot" and _has_physics(self.campaign):
            for name, values in _raw_features(self.campaign, table).items():
                low, high = self._span[name]
                scaled = (values - low) / (high - low) if high > low else values * 0
                parts.append(scaled[:, None])
        matrix = np.hstack(parts) if parts else np.zeros((len(table), 0))
        return torch.as_tensor(matrix, dtype=torch.float64)

    def level_index(self, X: torch.Tensor, name: str) -> torch.Tensor:
        """Which level of categorical ``name`` each encoded row holds (``...`` long indices
        into ``space.levels(name)``, for ``X`` of shape ``... x d``): the nearest level's
        descriptors (L1) for a descriptor encoding."""
        if self._indexed(name):
            return X[..., self.columns.index(name)].round().long()
        cols, codes = self._level_codes(name)
        if codes is None:
            return X[..., cols].argmax(-1)
        rows = X[..., cols].reshape(-1, len(cols))
        nearest = torch.cdist(rows, codes.to(X), p=1).argmin(-1)
        return nearest.reshape(X.shape[:-1])

    def _level_codes(self, name: str) -> tuple[list[int], torch.Tensor | None]:
        """The columns of categorical ``name`` and its levels' scaled descriptors
        (``levels x k``; None for one-hot columns), computed once per encoder."""
        if name not in self._codes:
            levels = self.campaign.space.levels(name)
            keys = _descriptor_keys(levels)
            if self.kind == "onehot" or not keys:
                self._codes[name] = ([self.columns.index(f"{name}={lvl}") for lvl in levels], None)
            else:
                table = np.array([[levels[n][k] for k in keys] for n in levels])
                scaled = (table - table.min(0)) / (table.max(0) - table.min(0))
                cols = [self.columns.index(f"{name}.{k}") for k in keys]
                self._codes[name] = (cols, torch.as_tensor(scaled, dtype=torch.float64))
        return self._codes[name]

    def in_region(
        self, X: torch.Tensor, when: Mapping[str, tuple[str, ...] | tuple[float, float]]
    ) -> torch.Tensor:
        """Whether each encoded row (``X``: ``... x d``) lies in a region given as variable ->
        levels or ``(low, high)`` (a numeric condition holds only where its variable is
        active). Returns a boolean tensor of shape ``...``."""
        space = self.campaign.space
        inside = torch.ones(X.shape[:-1], dtype=torch.bool, device=X.device)
        for name, condition in when.items():
            if name in space.categorical_names():
                inside &= self._at_levels(X, name, condition)  # type: ignore[arg-type]
                continue
            low, high = (float(v) for v in space.to_unit(name, np.asarray(condition, float)))
            x = X[..., self.columns.index(name)]
            inside &= (x >= low - 1e-9) & (x <= high + 1e-9)
            for parent, levels in space.variables[name].active_when.items():
                inside &= self._at_levels(X, parent, levels)
        return inside

    def _at_levels(self, X: torch.Tensor, name: str, levels: tuple[str, ...]) -> torch.Tensor:
        names = list(self.campaign.space.levels(name))
        wanted = torch.as_tensor([names.index(str(lv)) for lv in levels], device=X.device)
        return torch.isin(self.level_index(X, name), wanted)


_SPANS: dict[str, dict[str, tuple[float, float]]] = {}


def _spans(campaign: Campaign) -> dict[str, tuple[float, float]]:
    """Each physics feature's range over the reference sample of the campaign's space
    (computed once per design space: it draws 1,536 formulations)."""
    key = campaign.space.model_dump_json()
    if key not in _SPANS:
        raw = _raw_features(campaign, _reference(campaign))
        _SPANS[key] = {k: (float(v.min()), float(v.max())) for k, v in raw.items()}
    return _SPANS[key]


def _reference(campaign: Campaign) -> pd.DataFrame:
    """Random feasible formulations, plus copies with every active number at its low and at
    its high bound, so that the (monotone) features reach their extremes."""
    space = campaign.space
    draws = pd.DataFrame(space.sample(_REFERENCE_SAMPLES, seed=0))
    copies = [draws]
    for end in (0, 1):
        copy = draws.copy()
        for name in space.numeric_names():
            value = space.bounds(name)[end]
            copy[name] = copy[name].where(copy[name].isna(), value)
        copies.append(copy)
    return pd.concat(copies, ignore_index=True)


def _raw_features(campaign: Campaign, table: pd.DataFrame) -> dict[str, np.ndarray]:
    """Physics features per row, log10 for those that span decades."""
    feats = features(campaign, table)
    out = {}
    for name in FEATURES:
        values = feats[name].to_numpy(dtype=float)
        out[name] = np.log10(values + 1e-6) if name in _LOG_FEATURES else values
    return out


def _descriptor_keys(levels: dict[str, dict[str, float]]) -> list[str]:
    """Descriptors that tell the levels apart (empty: encode the variable one-hot)."""
    first = next(iter(levels.values()))
    return [k for k in first if not all(math.isclose(d[k], first[k]) for d in levels.values())]


def _has_physics(campaign: Campaign) -> bool:
    """Physics features need categorical ``filler`` and ``solvent`` with descriptor tables."""
    cats = campaign.space.categorical_names()
    if "filler" not in cats or "solvent" not in cats:
        return False
    filler = next(iter(campaign.space.levels("filler").values()))
    needed = {"diameter_nm", "length_nm", "inorganic_mass_fraction", "density_g_cm3"}
    solvent = next(iter(campaign.space.levels("solvent").values()))
    return needed <= set(filler) and "dielectric_constant" in solvent


@dataclass
class StackedEncoder:
    """A base encoding plus the posterior means of auxiliary GPs (one column each)."""

    base: Encoder
    auxiliary: Sequence[Auxiliary]
    """Fitted models of the auxiliary properties (their ``predict_scale`` gives the column)."""

    @property
    def kind(self) -> Kind:
        return self.base.kind

    @property
    def cat_dims(self) -> list[int]:
        return self.base.cat_dims

    @property
    def columns(self) -> list[str]:
        return self.base.columns + [f"predicted {m.objective}" for m in self.auxiliary]

    @property
    def dim(self) -> int:
        return len(self.columns)

    def encode(self, table: pd.DataFrame) -> torch.Tensor:
        parts = [self.base.encode(table)]
        for aux in self.auxiliary:
            mean, _ = aux.predict_scale(table)
            parts.append(torch.as_tensor(mean, dtype=torch.float64).unsqueeze(-1))
        return torch.cat(parts, dim=-1)

    def in_region(self, X: torch.Tensor, when: Mapping[str, Any]) -> torch.Tensor:
        """:meth:`Encoder.in_region` on the base columns of ``X`` (``... x d``)."""
        return self.base.in_region(X[..., : self.base.dim], when)
