"""The dashboard in a real browser (Debian's Chromium) against the live server.

Each test has its own tenant and staff users; the vouchers are made through the native API,
so what the dashboard shows is checked against what the API says.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.conftest import Api, LiveServer, TenantFixture
from voucherd.services import staff
from voucherd.services.unit_of_work import UnitOfWork

PASSWORD = "correct horse battery staple"
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
# The README's screenshots are refreshed only when asked (VOUCHERD_DOCS_SCREENSHOTS=1 make test):
# a test run must not rewrite tracked files.
REFRESH_DOCS = "VOUCHERD_DOCS_SCREENSHOTS"


def make_user(live_server: LiveServer, tenant: TenantFixture, role: str) -> str:
    email = f"{role}-{tenant.id}@shop.example"
    with UnitOfWork(live_server.engine) as uow:
        staff.create_user(uow, tenant.actor, email, role, PASSWORD)
        uow.commit()
    return email


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context(locale="en-US", timezone_id="UTC")
    yield made
    made.close()


def sign_in(page: Page, live_server: LiveServer, email: str) -> None:
    page.goto(f"{live_server.url}/dashboard/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/dashboard/")


def find(page: Page, code: str) -> None:
    page.get_by_label("Code or public id").fill(code.lower())  # normalised: case does not matter
    page.get_by_role("button", name="Find").click()
    page.wait_for_selector("#ledger")


def keep(page: Page, artifacts: Path, name: str, *, docs: bool = False) -> None:
    path = artifacts / f"dashboard-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if docs and os.environ.get(REFRESH_DOCS):
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_IMAGES / f"dashboard-{name}.png")


def test_find_charge_void_reinstate(
    context: BrowserContext,
    live_server: LiveServer,
    tenant: TenantFixture,
    api: Api,
    artifacts: Path,
) -> None:
    created = api.create_voucher(code="GIFT-4455-AB", amount=10_000, currency="EUR")
    email = make_user(live_server, tenant, "manager")
    page = context.new_page()
    sign_in(page, live_server, email)
    find(page, " gift-4455-ab ")
    assert page.locator("h1").inner_text() == f"Voucher {created['id']}"
    assert page.locator("#balance").inner_text() == "€100.00"
    assert page.locator("body").inner_text().count("GIFT-4455-AB") == 0  # the code is masked

    page.get_by_label("Amount (EUR)").fill("25.50")
    page.get_by_label("I confirm this charge").check()
    page.get_by_role("button", name="Charge", exact=True).click()
    page.wait_for_selector("text=Charged.")
    assert page.locator("#balance").inner_text() == "€74.50"
    charge = page.locator("#ledger tbody tr[data-kind=charge]")
    assert charge.count() == 1
    assert charge.get_attribute("data-amount") == "-2550"
    assert charge.get_attribute("data-balance-after") == "7450"
    assert "-€25.50" in charge.inner_text() and "€74.50" in charge.inner_text()
    assert api.get(f"/v1/vouchers/{created['id']}").json()["balance"] == 7450
    keep(page, artifacts, "voucher", docs=True)

    page.get_by_label("Reason for voiding").fill("card reported stolen")
    page.get_by_label("I confirm voiding this voucher").check()
    page.get_by_role("button", name="Void").click()
    page.wait_for_selector("text=Voided.")
    assert page.locator("#status").inner_text() == "void"
    page.get_by_label("Reason for reinstating").fill("card found by its owner")
    page.get_by_label("I confirm reinstating this voucher").check()
    page.get_by_role("button", name="Reinstate").click()
    page.wait_for_selector("text=Reinstated.")
    assert page.locator("#status").inner_text() == "active"
    trail = page.locator("#trail tbody tr")
    rows = [trail.nth(i).inner_text() for i in range(trail.count())]
    void_row = next(r for r in rows if "\tvoid\t" in r)
    reinstate_row = next(r for r in rows if "\treinstate\t" in r)
    user_id = email_user_id(live_server, email)
    assert f"user:{user_id}" in void_row and "card reported stolen" in void_row
    assert f"user:{user_id}" in reinstate_row and "card found by its owner" in reinstate_row
    charge_row = next(r for r in rows if "\tcharge\t" in r)
    assert f"user:{user_id}" in charge_row


def email_user_id(live_server: LiveServer, email: str) -> int:
    from sqlalchemy import select

    from voucherd.db.tables import staff_users

    with live_server.engine.connect() as conn:
        return int(
            conn.execute(select(staff_users.c.id).where(staff_users.c.email == email)).scalar_one()
        )


def test_overview_liability_equals_the_api_sum(
    context: BrowserContext,
    live_server: LiveServer,
    tenant: TenantFixture,
    api: Api,
    artifacts: Path,
) -> None:
    made = [api.create_voucher(amount=a, currency="EUR") for a in (10_000, 2_550, 999)]
    made.append(api.create_voucher(amount=7_000, currency="GBP"))
    voided = api.create_voucher(amount=5_000, currency="EUR")
    assert api.post(f"/v1/vouchers/{voided['id']}/void", {"reason": "test"}).status_code == 200
    assert (
        api.post("/v1/charges", {"voucher_id": made[0]["id"], "amount": 1_234}).status_code == 201
    )
    listed = api.get("/v1/vouchers", params={"limit": 100}).json()["data"]
    expected: dict[str, int] = {}
    for v in listed:
        if v["status"] in ("active", "inactive") and v["currency"]:
            expected[v["currency"]] = expected.get(v["currency"], 0) + v["balance"]
    assert expected == {"EUR": 10_000 - 1_234 + 2_550 + 999, "GBP": 7_000}

    page = context.new_page()
    sign_in(page, live_server, make_user(live_server, tenant, "auditor"))
    rows = page.locator("#liability tbody tr")
    shown = {
        rows.nth(i).get_attribute("data-currency"): int(
            rows.nth(i).get_attribute("data-minor") or 0
        )
        for i in range(rows.count())
    }
    assert shown == expected
    assert "€123.15" in page.locator("#liability tr[data-currency=EUR]").inner_text()
    assert page.locator("#by-status tr[data-status=void] td.num").inner_text() == "1"
    keep(page, artifacts, "overview", docs=True)


def test_clerk_sees_no_void_and_a_forged_void_is_refused(
    context: BrowserContext,
    live_server: LiveServer,
    tenant: TenantFixture,
    api: Api,
    artifacts: Path,
) -> None:
    created = api.create_voucher(code="CLERK-0001", amount=5_000)
    page = context.new_page()
    sign_in(page, live_server, make_user(live_server, tenant, "clerk"))
    find(page, "CLERK-0001")
    assert page.locator("#charge-form").count() == 1
    assert page.locator("#void-form").count() == 0
    assert page.get_by_role("button", name="Void").count() == 0
    csrf = page.locator("#charge-form input[name=csrf]").input_value()
    # The clerk's own session and CSRF token, a hand-made void request: refused by role.
    answer = page.request.post(
        f"{live_server.url}/dashboard/vouchers/{created['id']}/void",
        form={"csrf": csrf, "reason": "forged", "confirm": "yes"},
        max_redirects=0,
    )
    assert answer.status == 403
    assert "Your role does not allow this action." in answer.text()
    assert api.get(f"/v1/vouchers/{created['id']}").json()["status"] == "active"
    keep(page, artifacts, "clerk-voucher")


def test_a_form_without_the_csrf_token_is_refused(
    context: BrowserContext, live_server: LiveServer, tenant: TenantFixture, api: Api
) -> None:
    created = api.create_voucher(amount=5_000)
    page = context.new_page()
    sign_in(page, live_server, make_user(live_server, tenant, "owner"))
    url = f"{live_server.url}/dashboard/vouchers/{created['id']}/charge"
    for fields in (
        {"amount": "10", "confirm": "yes"},
        {"csrf": "x" * 43, "amount": "10", "confirm": "yes"},
    ):
        answer = page.request.post(url, form=fields, max_redirects=0)
        assert answer.status == 403
        assert 'data-code="csrf_refused"' in answer.text()
    assert api.get(f"/v1/vouchers/{created['id']}").json()["balance"] == 5_000
    # The login form too: no token, no session.
    login = httpx.post(
        f"{live_server.url}/dashboard/login",
        data={"email": "owner@x.example", "password": PASSWORD},
    )
    assert login.status_code == 403
    assert "vd_session" not in login.headers.get("set-cookie", "")
