"""Horizon over a live Overcast, driven in headless Chromium (Debian's chromium and chromium-driver)
with selenium.

One ``overcast serve`` and one ``overcast dashboard`` per test module (per xdist worker that runs
one), both on free loopback ports and stopped by their PIDs afterwards. Every wait waits for a
condition, with limits generous enough for a loaded machine. A failing test leaves a screenshot,
the page's HTML and the tail of Horizon's log in its output directory (``tmp_path``), named in the
failure report.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from overcast.testing.live import LiveServer, LiveServerError, free_port, wait_for

CHROMIUM = os.environ.get("OVERCAST_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("OVERCAST_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
#: a page, a modal or a status change under load: generous, but every wait ends as soon as it can
WAIT = 90.0
#: installing Horizon the first time (CI does it before the tests, in .ci/run)
PREPARE_TIMEOUT = 900


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    browser = item.funcargs.get("browser") if hasattr(item, "funcargs") else None
    out = item.funcargs.get("tmp_path") if hasattr(item, "funcargs") else None
    if browser is None or out is None:
        return
    saved = browser.keep_evidence(Path(out))
    report.sections.append(("dashboard evidence", "\n".join(str(p) for p in saved)))


class Dashboard:
    """``overcast dashboard`` for a live server's data directory, on a free port."""

    def __init__(self, server: LiveServer):
        self.server = server
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = server.data_dir / "dashboard" / "horizon.log"
        self.out = server.data_dir / "dashboard.out"
        self.process: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OVERCAST_") or k == "OVERCAST_DASHBOARD_VENV"}
        env.update(OVERCAST_SERVER_HOST=self.server.host, OVERCAST_SERVER_PORT=str(self.server.port))
        env.update({k: v for k, v in self.server.env.items() if k.startswith("OVERCAST_")})
        return env

    def start(self) -> "Dashboard":
        base = [sys.executable, "-m", "overcast", "--data-dir", str(self.server.data_dir), "dashboard"]
        prepared = subprocess.run(base + ["--prepare-only"], env=self.env(), capture_output=True, text=True,
                                  timeout=PREPARE_TIMEOUT, stdin=subprocess.DEVNULL)
        if prepared.returncode != 0:
            raise LiveServerError(f"overcast dashboard --prepare-only failed:\n{prepared.stdout}{prepared.stderr}")
        with open(self.out, "ab") as out:
            self.process = subprocess.Popen(base + ["--port", str(self.port), "--workers", "2"], env=self.env(),
                                            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            start_new_session=True)
        wait_for(self._answers, WAIT, description=f"Horizon at {self.url}", on_timeout=self.output_tail)
        return self

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise LiveServerError(f"overcast dashboard exited with {self.process.returncode}:\n{self.output_tail()}")
        try:
            with urllib.request.urlopen(f"{self.url}/auth/login/", timeout=5) as resp:
                return resp.status == 200
        except OSError:
            return False

    def output_tail(self, lines: int = 40) -> str:
        text = self.out.read_text(errors="replace") if self.out.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def log_lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines() if self.log.exists() else []

    def stop(self) -> None:
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)  # gunicorn and its workers: the group this Popen made
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@pytest.fixture(scope="module")
def horizon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip(f"needs Debian's chromium and chromium-driver ({CHROMIUM}, {CHROMEDRIVER}); .ci/run installs them")
    data_dir = tmp_path_factory.mktemp("horizon-overcast")
    server = LiveServer(data_dir=data_dir, startup_timeout=120.0)
    server.start()
    board = Dashboard(server)
    try:
        board.start()
        yield board
    finally:
        board.stop()
        server.stop()


class Browser:
    """A headless Chromium session on the dashboard, with Horizon-aware waits and checks."""

    def __init__(self, horizon: Dashboard, profile: Path):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                     f"--user-data-dir={profile}", "--window-size=1400,1000"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.set_page_load_timeout(WAIT)
        self.horizon = horizon
        self.log_mark = len(horizon.log_lines())
        self.serve_mark = len(self._serve_lines())

    def _serve_lines(self) -> list[str]:
        path = self.horizon.server.log_path
        return path.read_text(errors="replace").splitlines() if path.exists() else []

    # -- navigation -------------------------------------------------------------------------------
    def login(self, user: str, cloud: str) -> None:
        from selenium.webdriver.common.by import By

        password = self.horizon.server.password(cloud)
        self.get("/auth/login/")
        self.driver.find_element(By.ID, "id_username").send_keys(user)
        self.driver.find_element(By.ID, "id_password").send_keys(password)
        self.driver.find_element(By.CSS_SELECTOR, "#loginBtn, button[type=submit]").click()
        self.until(lambda d: "/auth/login" not in d.current_url, "the login to finish")
        self.settled()

    def get(self, path: str) -> None:
        self.driver.get(self.horizon.url + path)
        self.settled()

    def until(self, condition: Any, what: str, timeout: float = WAIT) -> Any:
        from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        # Horizon replaces table rows as it refreshes them: an element gone stale is looked up again
        return WebDriverWait(self.driver, timeout, poll_frequency=0.25,
                             ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
                             ).until(condition, f"waited for {what}")

    def settled(self) -> None:
        """The document loaded and no jQuery or Angular request is still out."""
        script = ("return document.readyState === 'complete' && (!window.jQuery || jQuery.active === 0) && "
                  "(!window.angular || !document.querySelector('.ng-scope') || "
                  "angular.element(document.body).injector() === undefined || "
                  "angular.element(document.body).injector().get('$http').pendingRequests.length === 0)")
        self.until(lambda d: d.execute_script(script), "the page to settle")

    # -- checks -----------------------------------------------------------------------------------
    def errors_shown(self) -> list[str]:
        from selenium.webdriver.common.by import By

        return [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, ".alert-danger, .alert-error")
                if e.is_displayed()]

    def horizon_errors(self) -> list[str]:
        lines = self.horizon.log_lines()
        return [line for line in lines[self.log_mark:] if " ERROR " in line or " CRITICAL " in line]

    def assert_clean(self, where: str) -> None:
        """No error banner on the page, nothing at ERROR in Horizon's log and no 5xx from Overcast
        since the session began."""
        self.settled()
        shown = self.errors_shown()
        assert not shown, f"{where}: error banner {shown}"
        logged = self.horizon_errors()
        assert not logged, f"{where}: Horizon logged errors:\n" + "\n".join(logged)
        failed = [line for line in self._serve_lines()[self.serve_mark:] if " status: 5" in line]
        assert not failed, f"{where}: Overcast answered 5xx:\n" + "\n".join(failed[-20:])

    def text(self) -> str:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.TAG_NAME, "body").text

    def keep_evidence(self, out: Path) -> list[Path]:
        out.mkdir(parents=True, exist_ok=True)
        saved = []
        try:
            shot = out / "screenshot.png"
            self.driver.save_screenshot(str(shot))
            saved.append(shot)
            page = out / "page.html"
            page.write_text(self.driver.page_source)
            saved.append(page)
        except Exception:  # noqa: BLE001 - a dead browser still leaves the logs
            pass
        log = out / "horizon.log"
        log.write_text("\n".join(self.horizon.log_lines()[-400:]))
        saved.append(log)
        serve_log = out / "serve.log"
        serve_log.write_text(self.horizon.server.output_tail(400))
        saved.append(serve_log)
        return saved

    def quit(self) -> None:
        self.driver.quit()


@pytest.fixture
def browser(horizon: Dashboard, tmp_path: Path) -> Iterator[Browser]:
    profile = tmp_path / "chromium-profile"
    profile.mkdir()
    session = Browser(horizon, profile)
    try:
        yield session
    finally:
        session.quit()
        shutil.rmtree(profile, ignore_errors=True)


def poll(condition: Any, what: str, timeout: float = WAIT) -> Any:
    """Wait for a condition outside the browser (an API state)."""
    return wait_for(condition, timeout, description=what, max_interval=1.0)


__all__ = ["Browser", "Dashboard", "WAIT", "poll", "time"]
