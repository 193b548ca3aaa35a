"""Shared fixtures: where the read-only shared material is, and how its absence is handled.

Tests that need ``../shared`` skip with a reason when it is absent; ``.ci/run`` sets
``NLP_REQUIRE_SHARED=1`` so that CI fails instead of skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()


def require_shared(*parts: str) -> Path:
    """The path ``../shared/<parts>``; skip (or fail under NLP_REQUIRE_SHARED=1) when absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        reason = f"shared material not found: {path}"
        if os.environ.get("NLP_REQUIRE_SHARED") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture
def shared_dir() -> Path:
    return require_shared()


@pytest.fixture
def repo_root() -> Path:
    return REPO
