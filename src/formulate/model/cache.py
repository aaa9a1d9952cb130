"""The model cache: fitted GP state dicts keyed by a hash of their training data, in memory
(the last 64) and as ``.pt`` files in the campaign folder, loaded with ``weights_only`` (no
pickles, no code runs on load). A stale or damaged file is ignored and the model refitted."""

from __future__ import annotations

import hashlib
import pickle  # only for its error type
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from formulate.spec.campaign import Campaign

MEMORY_SIZE = 64
"""Fitted models kept in memory (per process)."""
CACHE_DIR = ".formulate-cache"


def model_cache(campaign: Campaign) -> Path:
    """Where a campaign keeps fitted state dicts: ``<folder>/.formulate-cache``."""
    return campaign.folder / CACHE_DIR


def cache_key(*parts: str | bytes | np.ndarray | torch.Tensor) -> str:
    """A short hex digest of everything a fitted model depends on (spec, property, inputs,
    targets, censor flags)."""
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, torch.Tensor):
            part = part.detach().cpu().numpy()
        if isinstance(part, np.ndarray):
            part = np.ascontiguousarray(part).tobytes()
        h.update(part.encode() if isinstance(part, str) else part)
    return h.hexdigest()[:24]


class Memory(OrderedDict[str, Any]):
    """A small least-recently-used map of fitted models."""

    def get_recent(self, key: str) -> Any | None:
        if key not in self:
            return None
        self.move_to_end(key)
        return self[key]

    def keep(self, key: str, value: Any) -> None:
        self[key] = value
        if len(self) > MEMORY_SIZE:
            self.popitem(last=False)


def save_state(cache_dir: Path | None, key: str, state: dict[str, Any]) -> None:
    """Write a state (tensors and plain values) as ``<cache_dir>/<key>.pt``."""
    if cache_dir is None:
        return
    cache_dir.mkdir(parents=True, exist_ok=True)
    torch.save(state, cache_dir / f"{key}.pt")


def load_state(cache_dir: Path | None, key: str, device: torch.device) -> dict[str, Any] | None:
    """The state stored under ``key``, or None when absent or unreadable."""
    path = cache_dir / f"{key}.pt" if cache_dir else None
    if path is None or not path.is_file():
        return None
    try:
        return dict(torch.load(path, weights_only=True, map_location=device))
    except (RuntimeError, KeyError, ValueError, OSError, EOFError, pickle.UnpicklingError):
        return None
