"""The one device setting: auto, cpu, cuda (falls back to the CPU without CUDA)."""

from __future__ import annotations

import pytest
import torch

from formulate.errors import FormulateError
from formulate.model.device import resolve_device


def test_device_resolution_falls_back_to_cpu() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cuda").type == expected
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(FormulateError, match="unknown device"):
        resolve_device("tpu")
