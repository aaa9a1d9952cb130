"""The one ``device`` setting: ``auto`` (CUDA when present, else CPU), ``cpu`` or ``cuda``."""

from __future__ import annotations

import torch

from formulate.errors import FormulateError, Problem


def resolve_device(device: str = "auto") -> torch.device:
    """``auto`` -> CUDA when present, else CPU; ``cuda`` without CUDA falls back to CPU."""
    if device in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    if device not in ("auto", "cpu", "cuda"):
        raise FormulateError(
            f"unknown device '{device}'", [Problem("--device", device, "use auto, cpu or cuda")]
        )
    return torch.device("cpu")
