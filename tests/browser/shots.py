"""Pictures of the author and admin pages for docs/screenshots (``make screenshots``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from playwright.sync_api import Page

from tests.browser.site import ARTIFACTS


def picture(page: Page, name: str) -> Path:
    """Save the first screen of the page as ``<name>.png`` (and in CASEWISE_SCREENSHOTS)."""
    folder = ARTIFACTS / "readme"
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / f"{name}.png"
    page.screenshot(path=str(png))
    target = os.environ.get("CASEWISE_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(target) / png.name)
    return png
