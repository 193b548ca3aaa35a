"""Importing the package defaults OpenBLAS to one thread, unless the user chose."""

from __future__ import annotations

import os
import subprocess
import sys

SHOW = "import neuralogic_py, os; print(os.environ.get('OPENBLAS_NUM_THREADS'))"


def _run(env: dict[str, str]) -> str:
    return subprocess.run([sys.executable, "-c", SHOW], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_default_is_one_thread() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    assert _run(env) == "1"


def test_user_choice_is_kept() -> None:
    assert _run({**os.environ, "OPENBLAS_NUM_THREADS": "2"}) == "2"
