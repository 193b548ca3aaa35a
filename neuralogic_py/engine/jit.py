"""numba, imported on first use, with its compilation cache in a per-user folder.

The fused training step (:mod:`.fused`) is compiled by numba the first time it runs
and cached on disk, so later processes load it in a fraction of a second. The
cache lives outside the source tree and the installed package:
``$NLP_CACHE_DIR``, else ``$XDG_CACHE_HOME/neuralogic_py/numba``, else
``~/.cache/neuralogic_py/numba``. Nothing here imports numba until :func:`numba`
is called, so ``nlp --help`` and the numpy engine never pay for it.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
from functools import cache
from pathlib import Path
from types import ModuleType


def cache_dir() -> Path:
    """Where compiled kernels are kept (module docstring)."""
    if os.environ.get("NLP_CACHE_DIR"):
        return Path(os.environ["NLP_CACHE_DIR"]) / "numba"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "neuralogic_py" / "numba"


@cache
def numba() -> ModuleType | None:
    """The numba module configured to cache in :func:`cache_dir`, or None when it cannot be imported."""
    folder = str(cache_dir())
    if "numba" not in sys.modules:
        os.environ.setdefault("NUMBA_CACHE_DIR", folder)
    try:
        import numba as nb
    except ImportError:
        return None
    if not os.environ.get("NUMBA_CACHE_DIR") or os.environ["NUMBA_CACHE_DIR"] == folder:
        nb.config.CACHE_DIR = folder  # numba was imported earlier by someone else: still cache here
    return nb


def available() -> bool:
    """Whether the compiled engine can run here."""
    return numba() is not None


def _stamp() -> Path:
    """The marker saying the fused kernels of this source file, numba and Python are in the cache.

    numba keys its cache by the source file's location, modification time and size, so a
    copy of the package installed elsewhere (another virtualenv) compiles again: the key
    holds those too, not only the source text.
    """
    path = (Path(__file__).parent / "fused.py").resolve()
    stat = path.stat()
    nb = numba()
    where = f"{path} {stat.st_mtime_ns} {stat.st_size} {nb.__version__ if nb else ''} {sys.version} {platform.machine()}"
    key = hashlib.sha1(path.read_bytes() + where.encode())
    return cache_dir() / f"fused-{key.hexdigest()[:16]}.ready"


def compiled_before() -> bool:
    """Whether the fused kernels were compiled and cached here before (so using them costs no compilation)."""
    return _stamp().exists()


def mark_compiled() -> None:
    """Record that the fused kernels are in the cache (after their first successful run)."""
    try:
        stamp = _stamp()
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.touch()
    except OSError:  # a read-only cache folder only costs a compilation next time
        pass
