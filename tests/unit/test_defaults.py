"""The default images: pinned by digest, and the Playwright image matches e2e/."""

from __future__ import annotations

import json
import re

import pytest

from neosale_airgap.env import REPO_ROOT
from neosale_ci import defaults

IMAGES = {n: v for n, v in vars(defaults).items() if n.isupper() and isinstance(v, str)}


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_every_default_image_is_pinned_by_digest(name: str) -> None:
    assert re.fullmatch(r"[a-z0-9./_-]+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}", IMAGES[name]), IMAGES[name]


def test_the_playwright_image_is_the_version_e2e_runs() -> None:
    # The official image brings the browsers of one Playwright release only.
    package = json.loads((REPO_ROOT / "e2e" / "package.json").read_text())
    version = package["devDependencies"]["@playwright/test"]
    assert defaults.PLAYWRIGHT.split("@")[0].endswith(f":v{version}-noble")
