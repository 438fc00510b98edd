"""Rendering a page in headless Chromium (Debian's, which `make test` installs when missing)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SCREENSHOT_TIMEOUT_SECONDS = 120


def screenshot(page: Path, *, width: int = 820, height: int = 4200) -> Path:
    """A PNG of `page` next to it; skips the test, saying why, where no Chromium is installed."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (make test installs it as root with apt)")
    png = page.with_suffix(".png")
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={page.parent / 'chromium-profile'}",
            f"--screenshot={png}",
            f"--window-size={width},{height}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=SCREENSHOT_TIMEOUT_SECONDS,
    )
    return png
