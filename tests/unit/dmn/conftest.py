"""Fixtures of the DMN tests: the DMN TCK's models, read where they are (never copied here)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def tck_root() -> Path | None:
    """The DMN TCK folder: CASEWISE_DMN_TCK, else ../shared/dmn-tck, else /work/shared/dmn-tck."""
    for candidate in (
        os.environ.get("CASEWISE_DMN_TCK"),
        str(REPO.parent / "shared" / "dmn-tck"),
        "/work/shared/dmn-tck",
    ):
        if candidate and (Path(candidate) / "compliance-level-2").is_dir():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def level2() -> Path:
    """The TCK's compliance-level-2 folder; the test is skipped where it is absent."""
    root = tck_root()
    if root is None:
        pytest.skip(
            "the DMN TCK is not here: set CASEWISE_DMN_TCK to a folder holding "
            "compliance-level-2 (or place it at ../shared/dmn-tck)"
        )
    return root / "compliance-level-2"
