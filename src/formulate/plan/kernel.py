"""BoTorch's fused qLogNEHVI kernel: built once per environment, ahead of the first proposal.

BoTorch compiles a small C++ extension (``logei_fused_ext``) the first time a hypervolume
acquisition is built, about 40 s on 2 cores, and uses a pure-Python path when it cannot
(about 3x slower in that step). ``make install`` runs ``formulate build-kernel`` so that a
first proposal costs no compile, and says when no compiler is there. Every build uses this
environment's own ninja, so that a system one does not rebuild it in turn.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import sysconfig
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

ENV_VAR = "TORCH_EXTENSIONS_DIR"


def build_folder() -> Path:
    """Where the kernel is built: inside this Python environment (``<prefix>/var/formulate/
    torch_extensions/<torch version>``), so that another environment, with another torch or
    BoTorch, has its own and neither rebuilds the other's; in ``~/.cache/formulate`` under a
    hash of the environment when the environment cannot be written (a system Python)."""
    own = Path(sys.prefix) / "var" / "formulate" / "torch_extensions" / torch.__version__
    if os.access(sys.prefix, os.W_OK):
        return own
    env = hashlib.sha256(f"{sys.prefix}|{torch.__version__}".encode()).hexdigest()[:12]
    return Path.home() / ".cache" / "formulate" / "torch_extensions" / env


def use_build_folder() -> None:
    """Point torch's extension builder at :func:`build_folder` unless the user chose one, and
    at this environment's own ninja (:func:`use_own_ninja`)."""
    os.environ.setdefault(ENV_VAR, str(build_folder()))
    use_own_ninja()


def own_ninja() -> Path | None:
    """The ninja installed in this Python environment (BoTorch requires the ``ninja``
    package), if there is one."""
    exe = Path(sysconfig.get_path("scripts")) / ("ninja.exe" if os.name == "nt" else "ninja")
    return exe if exe.is_file() else None


def use_own_ninja() -> None:
    """Put this environment's ninja first on ``PATH``: torch builds with the first ``ninja``
    it finds there. Two ninjas (the environment's and a system one, such as Debian's
    ninja-build 1.11 beside pip's 1.13) keep build logs the other cannot read, so each rebuilt
    the kernel (about a minute here) whenever the other had built it last: ``formulate`` in a
    shell with the environment activated and ``.venv/bin/formulate`` from ``make`` took turns.
    """
    ninja = own_ninja()
    found = shutil.which("ninja")
    if ninja is None or (found is not None and Path(found).samefile(ninja)):
        return
    os.environ["PATH"] = os.pathsep.join([str(ninja.parent), os.environ.get("PATH", "")])


def compiler() -> str | None:
    """The C++ compiler torch's builder calls (``$CXX``, else ``c++``), if it is installed."""
    return shutil.which(os.environ.get("CXX", "c++"))


@dataclass(frozen=True)
class KernelState:
    """What :func:`prepare` found or did: ``ready`` (the kernel loads), ``folder``,
    ``seconds`` spent, and ``why`` when it is not ready."""

    ready: bool
    folder: str
    seconds: float
    why: str = ""

    def said(self) -> str:
        if self.ready:
            return f"BoTorch's fused kernel is ready in {self.folder} ({self.seconds:.1f} s)."
        return (
            f"BoTorch's fused kernel is not built: {self.why}. Proposals still work, on "
            "BoTorch's pure-Python path (about 3x slower in the hypervolume step)."
        )


def prepare() -> KernelState:
    """Build (or just load, when built) the fused kernel in :func:`build_folder` now."""
    use_build_folder()
    folder = os.environ[ENV_VAR]
    start = time.perf_counter()
    if compiler() is None and not any(Path(folder).glob("logei_fused_ext/*.so")):
        cxx = os.environ.get("CXX", "c++")
        return KernelState(False, folder, 0.0, f"no C++ compiler found ({cxx})")
    # BoTorch builds it lazily in its acquisition's __init__; this is the same call, made early
    # (private, so checked here: a BoTorch without it builds at the first proposal as before)
    from botorch.acquisition.multi_objective import logei

    load = getattr(logei, "_try_load_fused_kernel", None)
    if load is None:
        return KernelState(False, folder, 0.0, "this BoTorch builds no fused kernel")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        load()
    seconds = time.perf_counter() - start
    if getattr(logei, "_C", None) is None:
        why = str(said[-1].message).split(". ")[0] if said else "the build failed"
        return KernelState(False, folder, seconds, why)
    return KernelState(True, folder, seconds)
