"""The console's fixtures: a server running the power-dispatch example (as `make run` starts it) and a real
Chromium driven by Playwright. Chromium is Debian's (`/usr/bin/chromium`): absent, the browser tests skip locally
and fail in CI, where `.ci/run` installs it."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipework.connectors.targets.function import load_functions
from pipework.testing import RunningServer, serve_in_thread

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "power-dispatch"
CHROMIUM = os.environ.get("PIPEWORK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def power_dispatch_setup() -> Any:
    sys.path.insert(0, str(EXAMPLE))
    try:
        import importlib.util

        spec = importlib.util.spec_from_file_location("power_dispatch_setup_console", EXAMPLE / "setup.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(EXAMPLE))


@pytest.fixture
def console_server() -> Iterator[RunningServer]:
    """A server with the power-dispatch example's functions and resources, in memory."""
    with serve_in_thread(functions=load_functions(str(EXAMPLE / "functions.py"))) as server:
        power_dispatch_setup().setup(server.endpoint_url)
        yield server


# Module-scoped: Playwright's sync API runs an event loop in the main thread while it is open, which the
# asyncio tests after this module must not find there.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        if os.environ.get("CI"):
            pytest.fail(f"Chromium is required in CI ({CHROMIUM}; `.ci/run` installs Debian's `chromium`)")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    playwright_api = pytest.importorskip("playwright.sync_api")
    # Assertions wait for their condition as long as actions do: a loaded machine may take seconds.
    playwright_api.expect.set_options(timeout=15_000)
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield tab
    finally:
        context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
