"""The UI in a real browser: Playwright driving Debian's Chromium against a real `mlrun ui`.

Screenshots go to test-artifacts/ui/ (gitignored; CI keeps them as artifacts).
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import REPO, mlrun_argv
from tests.ui.stores import Built, build

if TYPE_CHECKING:
    from collections.abc import Iterator

    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "test-artifacts" / "ui"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's chromium at /usr/bin/chromium "
        "(apt-get install chromium); .ci/run installs it",
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[str]) -> None:
    for _ in range(300):  # bounded: 30 s
        if proc.poll() is not None:
            raise AssertionError(f"mlrun ui exited: {proc.communicate()[1]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("mlrun ui did not start listening")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Built]]:
    built = build(tmp_path / "store", runs=6, steps=200)
    port = free_port()
    proc = subprocess.Popen(
        [*mlrun_argv("ui", "--tracking-uri", built.uri, "--port", str(port))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip
    try:
        wait_listening(port, proc)
        yield f"http://127.0.0.1:{port}", built
    finally:
        proc.terminate()
        proc.communicate(timeout=30)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), headless=True,
            args=ARGS, viewport={"width": 1400, "height": 900},
        )  # fmt: skip
        try:
            yield context  # type: ignore[misc]  # a persistent context opens pages like a browser
        finally:
            context.close()


def watched(browser: Browser) -> tuple[Page, list[str]]:
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_experiments_filter_runs_sort_select_and_compare(
    served: tuple[str, Built], browser: Browser
) -> None:
    url, built = served
    page, errors = watched(browser)
    page.goto(url + "/")
    page.wait_for_selector("text=wine")
    shot(page, "01-experiments")
    page.click("text=wine")
    page.wait_for_selector("table.runs tbody tr[data-run]")
    assert page.locator("table.runs tbody tr[data-run]").count() == 6
    shot(page, "02-runs")
    # A bad filter shows the caret message in place, a good one filters on the server.
    page.fill("#filter", "metrics.rmse <")
    page.wait_for_selector(".filter-error")
    shot(page, "03-runs-filter-error")
    page.fill("#filter", "params.optimizer = 'adam'")
    page.wait_for_function("document.querySelectorAll('table.runs tbody tr[data-run]').length == 3")
    assert "optimizer" in page.url  # the filter is in the address (shareable)
    page.fill("#filter", "")
    page.wait_for_function("document.querySelectorAll('table.runs tbody tr[data-run]').length == 6")
    # Sort by rmse (descending first for numbers), then flip.
    page.click("thead th.metric >> text=rmse")
    page.wait_for_selector("thead th.metric >> text=rmse ▼")
    first = page.locator("table.runs tbody tr[data-run]").first.get_attribute("data-run")
    assert first == built.run_ids[0]
    page.click("thead th.metric >> text=rmse")
    page.wait_for_selector("thead th.metric >> text=rmse ▲")
    assert (
        page.locator("table.runs tbody tr[data-run]").first.get_attribute("data-run")
        == built.run_ids[-1]
    )
    # Select three runs and compare them.
    for run_id in built.run_ids[:3]:
        page.check(f"tr[data-run='{run_id}'] input.sel")
    assert page.inner_text("#compare") == "Compare 3 runs"
    shot(page, "04-runs-selected")
    page.click("#compare")
    page.wait_for_selector("#curves[data-drawn='1']")
    page.wait_for_selector("#parallel[data-drawn='1']")
    page.wait_for_selector("#scatter[data-drawn='1']")
    assert page.locator(".diff-table tr.same").first.is_hidden()  # differences only
    shot(page, "05-compare")
    page.uncheck("#diff-only")
    assert page.locator(".diff-table tr.same").first.is_visible()
    assert errors == []


def test_run_page_charts_and_artifacts(served: tuple[str, Built], browser: Browser) -> None:
    url, built = served
    page, errors = watched(browser)
    page.goto(f"{url}/runs/{built.run_ids[0]}")
    page.wait_for_selector("#run-charts[data-drawn='1']")
    assert page.locator("#run-charts canvas").count() >= 2
    shot(page, "06-run")
    page.click("text=preds.csv")
    page.wait_for_selector("th >> text=yhat")
    shot(page, "07-artifact-csv")
    assert errors == []


def test_compare_many_runs_draws_downsampled_curves(tmp_path: Path, browser: Browser) -> None:
    built = build(tmp_path / "many", runs=60, steps=2000)
    port = free_port()
    proc = subprocess.Popen(mlrun_argv("ui", "--tracking-uri", built.uri, "--port", str(port)),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        wait_listening(port, proc)
        page, errors = watched(browser)
        page.goto(f"http://127.0.0.1:{port}/compare?runs={','.join(built.run_ids)}")
        page.wait_for_selector("#curves[data-drawn='1']")
        assert "downsampled" in page.inner_text("#curve-note")
        page.check("#curve-log")  # redraws on a log scale from the data it has
        page.wait_for_selector("#curves[data-drawn='1'] .u-over")
        page.select_option("#scatter-y", label="metrics.rmse")
        shot(page, "08-compare-60-runs")
        assert errors == []
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
