"""Horizon 27, unmodified, over a live Overcast in headless Chromium: what a user does first.

demo: the Overview with an instance (its usage paged by 2.40's markers), the Launch Instance
wizard to Active, the instance's Log tab, a volume created and deleted, a floating IP allocated.
admin: Overview, Hypervisors (with Placement's resource providers), Instances, Flavors, Projects.
Every page: no error banner, nothing at ERROR in Horizon's log.
"""

from __future__ import annotations

import uuid

import pytest
from conftest import WAIT, Browser, Dashboard, poll
from forked_cli import OpenStackCLI


pytestmark = [pytest.mark.live, pytest.mark.browser]
#: the instance every demo test may rely on (made through the API, not the browser)
SEEDED = "horizon-seeded-vm"


def _xpath_literal(text: str) -> str:
    return f"'{text}'"


@pytest.fixture(scope="module")
def demo_cli(horizon: Dashboard) -> OpenStackCLI:
    return OpenStackCLI(horizon.server.clouds_yaml, "overcast")


@pytest.fixture(scope="module")
def seeded_server(demo_cli: OpenStackCLI) -> dict:
    return demo_cli("server", "create", "--flavor", "m1.tiny", "--image", "cirros", "--network", "private",
                    "--wait", SEEDED)


def _row(browser: Browser, table_text: str) -> object:
    from selenium.webdriver.common.by import By

    rows = [r for r in browser.driver.find_elements(By.CSS_SELECTOR, "table tbody tr") if table_text in r.text]
    return rows[0] if rows else None


def _click(browser: Browser, css: str) -> None:
    from selenium.webdriver.common.by import By

    element = browser.until(lambda d: next((e for e in d.find_elements(By.CSS_SELECTOR, css)
                                            if e.is_displayed() and e.is_enabled()), None), css)
    browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
    element.click()


def _modal_form(browser: Browser) -> object:
    from selenium.webdriver.common.by import By

    return browser.until(lambda d: next((m for m in d.find_elements(By.CSS_SELECTOR, ".modal form")
                                         if m.is_displayed()), None), "the modal form")


def test_demo_overview_shows_the_instance_usage(browser: Browser, seeded_server: dict) -> None:
    browser.login("demo", "overcast")
    browser.get("/project/")
    browser.assert_clean("Project > Overview")
    text = browser.text()
    assert "Usage Summary" in text and "Limit Summary" in text
    usage = _row(browser, SEEDED)
    assert usage is not None, "the instance is not in the usage table"
    assert "m1.tiny" in usage.text or "512" in usage.text, usage.text


def test_demo_launch_wizard_reaches_active_and_log_tab(browser: Browser, seeded_server: dict) -> None:
    from selenium.webdriver.common.by import By

    name = f"wizard-{uuid.uuid4().hex[:6]}"
    browser.login("demo", "overcast")
    browser.get("/project/instances/")
    browser.assert_clean("Project > Instances")
    _click(browser, "#instances__action_launch-ng")
    field = browser.until(lambda d: next((e for e in d.find_elements(By.CSS_SELECTOR, "input[name=name]")
                                          if e.is_displayed()), None), "the wizard's name field")
    field.send_keys(name)

    def allocate(step: str, item: str) -> None:
        browser.driver.find_element(By.XPATH, f"//*[contains(@class,'wizard-nav')]//a[contains(., '{step}')]"
                                    ).click()
        button = browser.until(lambda d: next((b for b in d.find_elements(
            By.XPATH, f"//tr[.//td[normalize-space()={_xpath_literal(item)}]]//button[contains(@class,'fa-arrow-up')]")
            if b.is_displayed()), None), f"{item} in the {step} step")
        button.click()
        browser.until(lambda d: any(b.is_displayed() for b in d.find_elements(
            By.XPATH, f"//tr[.//td[normalize-space()={_xpath_literal(item)}]]//button[contains(@class,'fa-arrow-down')]")),
            f"{item} to be allocated")

    allocate("Source", "cirros")
    allocate("Flavor", "m1.tiny")
    browser.driver.find_element(By.XPATH, "//*[contains(@class,'wizard-nav')]//a[contains(., 'Networks')]").click()
    allocated = browser.until(lambda d: [b for b in d.find_elements(
        By.XPATH, "//tr[.//td[normalize-space()='private']]//button[contains(@class,'fa-arrow-down') or "
                  "contains(@class,'fa-arrow-up')]") if b.is_displayed()], "the private network")
    if "fa-arrow-up" in allocated[0].get_attribute("class"):
        allocated[0].click()
    browser.driver.find_element(By.XPATH, "//*[contains(@class,'wizard-nav')]//a[contains(., 'Metadata')]").click()
    browser.until(lambda d: "OS::Software" in d.page_source or "Web Servers" in d.page_source,
                  "the metadata step to list the shipped namespaces")
    _click(browser, "button.finish")
    browser.until(lambda d: "/project/instances" in d.current_url and _row(browser, name) is not None,
                  "the new instance in the table")
    browser.until(lambda d: (_row(browser, name) is not None and "Active" in _row(browser, name).text)
                  or d.refresh(), f"{name} to be Active", timeout=2 * WAIT)
    browser.assert_clean("Instances after the launch")

    row = _row(browser, name)
    row.find_element(By.LINK_TEXT, name).click()
    browser.settled()
    browser.driver.find_element(By.XPATH, "//ul[contains(@class,'nav-tabs')]//a[normalize-space()='Log']").click()
    browser.until(lambda d: "login:" in d.find_element(By.CSS_SELECTOR, "pre.logs").text,
                  "the console log in the Log tab")
    browser.assert_clean("the instance's Log tab")


def test_demo_volume_create_and_delete(browser: Browser) -> None:
    from selenium.webdriver.common.by import By

    name = f"horizon-vol-{uuid.uuid4().hex[:6]}"
    browser.login("demo", "overcast")
    browser.get("/project/volumes/")
    browser.assert_clean("Project > Volumes")
    _click(browser, "#volumes__action_create")
    form = _modal_form(browser)
    form.find_element(By.ID, "id_name").send_keys(name)
    size = form.find_element(By.ID, "id_size")
    size.clear()
    size.send_keys("1")
    form.find_element(By.CSS_SELECTOR, ".modal-footer [type=submit]").click()
    browser.until(lambda d: _row(browser, name) is not None and "Available" in _row(browser, name).text
                  or d.refresh(), f"{name} to be Available")
    browser.assert_clean("Volumes after the create")
    row = _row(browser, name)
    # Horizon styles its checkboxes: the input itself is hidden behind its label
    browser.driver.execute_script("arguments[0].click();", row.find_element(By.CSS_SELECTOR, "input[type=checkbox]"))
    _click(browser, "#volumes__action_delete")
    _click(browser, ".modal-footer .btn-danger, .modal-footer .btn-primary")
    browser.until(lambda d: _row(browser, name) is None or d.refresh(), f"{name} to go")
    browser.assert_clean("Volumes after the delete")


def test_demo_allocate_floating_ip(browser: Browser, demo_cli: OpenStackCLI) -> None:
    from selenium.webdriver.common.by import By

    before = {f["Floating IP Address"] for f in demo_cli("floating", "ip", "list")}
    browser.login("demo", "overcast")
    browser.get("/project/floating_ips/")
    browser.assert_clean("Project > Floating IPs")
    _click(browser, "#floating_ips__action_allocate")
    form = _modal_form(browser)
    form.find_element(By.CSS_SELECTOR, ".modal-footer [type=submit]").click()
    address = poll(lambda: ({f["Floating IP Address"] for f in demo_cli("floating", "ip", "list")} - before),
                   "the floating IP to exist")
    browser.until(lambda d: _row(browser, next(iter(address))) is not None or d.refresh(),
                  "the floating IP in the table")
    browser.assert_clean("Floating IPs after the allocation")
    for ip in address:
        demo_cli.run("floating", "ip", "delete", ip)


ADMIN_PAGES = (
    ("/admin/", "Usage Summary"),
    ("/admin/hypervisors/", "Resource Providers Summary"),
    ("/admin/instances/", SEEDED),
    ("/admin/flavors/", "m1.tiny"),
    ("/identity/", "alt_demo"),
)


def test_admin_pages(browser: Browser, seeded_server: dict) -> None:
    """Admin > Overview, Hypervisors (Placement's providers, no error banner), Instances, Flavors,
    Identity > Projects: each loads clean and shows what it is about."""
    browser.login("admin", "overcast-admin")
    for path, expect in ADMIN_PAGES:
        browser.get(path)
        browser.assert_clean(path)
        assert expect in browser.text(), f"{path} does not show {expect!r}"
        if path == "/admin/hypervisors/":  # each provider with its capacity: 64 vCPUs at 4.0
            assert "vCPU Usage" in browser.text() and " of 256" in browser.text()
