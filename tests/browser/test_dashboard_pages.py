"""The dashboard's overview charts, voucher search, voucher actions, customers and audit feed,
in a real browser against the live server (each test its own tenant and staff users)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.test_dashboard import (
    email_user_id,
    find,
    keep,
    make_user,
    sign_in,
)
from tests.conftest import Api, LiveServer, TenantFixture
from voucherd.domain.vouchers import ValueKind
from voucherd.services import campaigns, tenants
from voucherd.services import vouchers as voucher_service
from voucherd.services.unit_of_work import UnitOfWork
from voucherd.services.vouchers import NewVoucher


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context(locale="en-US", timezone_id="UTC")
    yield made
    made.close()


def _rows(page: Page, table: str, attribute: str) -> list[str]:
    rows = page.locator(f"#{table} tbody tr[{attribute}]")
    return [rows.nth(i).get_attribute(attribute) or "" for i in range(rows.count())]


def _act(page: Page, button: str, confirm: str, **fields: str) -> None:
    """Fill an action form by its labels, tick its confirmation, submit it."""
    for label, text in fields.items():
        page.get_by_label(label, exact=True).fill(text)
    page.get_by_label(confirm).check()
    page.get_by_role("button", name=button, exact=True).click()


def test_overview_charts_equal_the_flow_report_and_toggle_to_90_days(
    context: BrowserContext,
    live_server: LiveServer,
    tenant: TenantFixture,
    api: Api,
    artifacts: Path,
) -> None:
    first = api.create_voucher(amount=12_000)
    api.create_voucher(amount=3_000)
    api.create_voucher(amount=5_000, currency="GBP")
    assert api.post("/v1/charges", {"voucher_id": first["id"], "amount": 4_550}).status_code == 201
    since = (datetime.now(UTC).date() - timedelta(days=29)).isoformat()
    flow = api.get(f"/v1/reports/flow?period=day&since={since}").json()["rows"]
    issued = {c: sum(r["issued"] for r in flow if r["currency"] == c) for c in ("EUR", "GBP")}
    assert issued == {"EUR": 15_000, "GBP": 5_000}

    page = context.new_page()
    sign_in(page, live_server, make_user(live_server, tenant, "manager"))
    eur = page.locator("figure.chart[data-currency=EUR]")
    assert eur.locator(".issued-total").inner_text() == "€150.00"
    assert eur.locator(".redeemed-total").inner_text() == "€45.50"
    assert page.locator("figure.chart[data-currency=GBP] .issued-total").inner_text() == "£50.00"
    assert eur.locator("rect.bar-issued").count() == 1  # one day with value issued
    assert eur.locator("circle.dot-redeemed").count() == 30  # a point for every day
    assert page.get_by_role("link", name="30 days").get_attribute("aria-current") == "page"
    page.get_by_role("link", name="90 days").click()
    page.wait_for_url("**/dashboard/?days=90")
    assert page.get_by_role("link", name="90 days").get_attribute("aria-current") == "page"
    assert eur.locator("circle.dot-redeemed").count() == 90
    assert eur.locator(".issued-total").inner_text() == "€150.00"
    eur.locator("summary").click()  # the numbers as a table, for screen readers and people
    assert "€150.00" in eur.locator("table.flow-table").inner_text()
    keep(page, artifacts, "overview-90-days")
    # The same numbers for a browser that asks for German: Babel's money and dates.
    assert context.browser is not None
    german = context.browser.new_context(locale="de-DE", timezone_id="UTC")
    try:
        seite = german.new_page()
        sign_in(seite, live_server, make_user(live_server, tenant, "auditor"))
        chart = seite.locator("figure.chart[data-currency=EUR]")
        assert chart.locator(".issued-total").inner_text() == "150,00\xa0€"
        assert "104,50\xa0€" in seite.locator("#liability tr[data-currency=EUR]").inner_text()
        assert seite.locator("html").get_attribute("lang") == "de"
    finally:
        german.close()


def _fixture_vouchers(live_server: LiveServer, tenant: TenantFixture) -> dict[str, Any]:
    actor = tenant.actor
    with UnitOfWork(live_server.engine) as uow:
        ann = tenants.create_customer(
            uow, actor, external_ref=f"ann-{tenant.id}", name="Ann Example", email="ann@x.example"
        )
        summer = campaigns.create(
            uow,
            actor,
            name="Summer",
            key=f"summer-{tenant.id}",
            template=NewVoucher(currency="EUR", amount=2_000),
        )

        def make(public_id: str, **spec: Any) -> None:
            voucher_service.create(uow, actor, NewVoucher(public_id=public_id, **spec))

        make("ann-gift", currency="EUR", amount=5_000, holder_id=ann["id"], active=True)
        make("ann-pct", kind=ValueKind.PERCENT_DISCOUNT, discount_bps=1_500, holder_id=ann["id"])
        make("summer-1", currency="EUR", amount=2_000, campaign_id=summer["id"], active=True)
        make("summer-2", currency="EUR", amount=2_000, campaign_id=summer["id"])
        make("loose", currency="EUR", amount=900, active=True)
        uow.commit()
    return {"ann": ann, "summer": summer}


def test_search_by_customer_campaign_status_and_kind(
    context: BrowserContext,
    live_server: LiveServer,
    tenant: TenantFixture,
    artifacts: Path,
) -> None:
    made = _fixture_vouchers(live_server, tenant)
    page = context.new_page()
    sign_in(page, live_server, make_user(live_server, tenant, "clerk"))
    page.get_by_role("link", name="Vouchers", exact=True).click()

    def search(**fields: str) -> list[str]:
        page.goto(f"{live_server.url}/dashboard/vouchers")
        for label, text in fields.items():
            field = page.get_by_label(label)
            if label in ("Status", "Kind"):
                field.select_option(text)
            else:
                field.fill(text)
        page.get_by_role("button", name="Find").click()
        page.wait_for_selector("#results")
        return _rows(page, "results", "data-public-id")

    assert search(**{"Customer (id, reference or email)": f"ann-{tenant.id}"}) == [
        "ann-pct",
        "ann-gift",
    ]
    assert search(**{"Customer (id, reference or email)": "ANN@x.example"}) == [
        "ann-pct",
        "ann-gift",
    ]
    assert search(**{"Campaign (id or key)": f"summer-{tenant.id}"}) == ["summer-2", "summer-1"]
    assert search(**{"Campaign (id or key)": str(made["summer"]["id"]), "Status": "inactive"}) == [
        "summer-2"
    ]
    assert search(Status="active") == ["loose", "summer-1", "ann-gift"]
    assert search(Kind="percent_discount") == ["ann-pct"]
    assert search(
        Kind="stored_value",
        Status="active",
        **{"Customer (id, reference or email)": str(made["ann"]["id"])},
    ) == ["ann-gift"]
    # The filters stay filled in, and the campaign's name is shown.
    assert page.get_by_label("Status").input_value() == "active"
    search(**{"Campaign (id or key)": f"summer-{tenant.id}"})
    assert "Summer" in page.locator("#results tr[data-public-id=summer-1]").inner_text()
    keep(page, artifacts, "search")
    # Keyboard only: the first Tab offers the skip link, the next lands in the code box.
    page.goto(f"{live_server.url}/dashboard/vouchers")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to the content"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("summer-1")
    page.keyboard.press("Enter")
    page.wait_for_selector("#ledger")
    assert page.locator("h1").inner_text() == "Voucher summer-1"
    assert page.get_by_role("link", name="Summer").count() == 1  # its campaign, by name
    assert search(**{"Customer (id, reference or email)": "nobody"}) == []
    assert "No voucher matches." in page.locator("#results").inner_text()
    # A bad filter is a clear refusal, not a crash.
    answer = page.request.get(f"{live_server.url}/dashboard/vouchers?status=lost")
    assert answer.status == 422 and "status must be one of" in answer.text()


def test_every_voucher_action_with_reasons_messages_and_refusals(
    context: BrowserContext,
    live_server: LiveServer,
    tenant: TenantFixture,
    api: Api,
    artifacts: Path,
) -> None:
    created = api.create_voucher(code="ACT-0001-XY", amount=10_000, active=False)
    email = make_user(live_server, tenant, "manager")
    actor = f"user:{email_user_id(live_server, email)}"
    page = context.new_page()
    sign_in(page, live_server, email)
    find(page, "act-0001-xy")
    assert page.locator("#status").inner_text() == "inactive"
    vendors = {
        face: page.locator(f"#vendor-statuses tr[data-face='{face}'] td").nth(1).inner_text()
        for face in ("JTL", "Shopee", "Spaaza", "Revenue Monster")
    }
    assert vendors == {
        "JTL": "inactive",
        "Shopee": "upcoming",
        "Spaaza": "generated",
        "Revenue Monster": "VALID",
    }
    assert page.locator("#charge-form").count() == 0  # nothing to charge while inactive
    _act(page, "Activate", "I confirm activating", **{"Reason for activating": "sold at till 2"})
    page.wait_for_selector("text=Activated.")
    assert page.locator("#status").inner_text() == "active"
    assert "ISSUED" in page.locator("#vendor-statuses").inner_text()

    _act(
        page,
        "Recharge",
        "I confirm this recharge",
        **{"Amount to add (EUR)": "15", "Reason for recharging": "top-up paid in cash"},
    )
    page.wait_for_selector("text=Recharged.")
    assert page.locator("#balance").inner_text() == "€115.00"
    _act(page, "Charge", "I confirm this charge", **{"Amount (EUR)": "40.25"})
    page.wait_for_selector("text=Charged.")
    _act(
        page,
        "Refund",
        "I confirm this refund",
        **{
            "Amount (empty: what is left of the charge)": "10",
            "Reason for refunding": "returned a scarf",
        },
    )
    page.wait_for_selector("text=Refunded.")
    assert page.locator("#balance").inner_text() == "€84.75"
    kinds = _rows(page, "ledger", "data-kind")
    assert kinds == ["issue", "recharge", "charge", "refund"]
    balances = page.locator("#ledger tbody tr")
    assert [balances.nth(i).get_attribute("data-balance-after") for i in range(4)] == [
        "10000",
        "11500",
        "7475",
        "8475",
    ]
    ends = (datetime.now(UTC).date() + timedelta(days=400)).isoformat()
    page.get_by_label("Valid until (end of that day, UTC)").fill(ends)
    _act(page, "Extend validity", "I confirm the new end", **{"Reason for extending": "goodwill"})
    page.wait_for_selector("text=Validity extended.")
    assert api.get(f"/v1/vouchers/{created['id']}").json()["ends_at"].startswith(ends)

    # A refusal is the engine's typed error, in words, and changes nothing.
    _act(page, "Charge", "I confirm this charge", **{"Amount (EUR)": "500"})
    alert = page.get_by_role("alert")
    assert alert.inner_text() == "The voucher does not hold that much."
    assert alert.get_attribute("data-code") == "insufficient_balance"
    keep(page, artifacts, "refusal")
    page.get_by_role("link", name="Back to the form").click()
    page.wait_for_selector("#ledger")
    _act(
        page,
        "Deactivate",
        "I confirm deactivating",
        **{"Reason for deactivating": "card at the lost desk"},
    )
    page.wait_for_selector("text=Deactivated.")
    _act(page, "Activate", "I confirm activating", **{"Reason for activating": "owner came back"})
    page.wait_for_selector("text=Activated.")
    _act(page, "End now", "I confirm ending", **{"Reason for ending": "store closing"})
    page.wait_for_selector("text=Ended.")
    assert page.locator("#status").inner_text() == "expired"
    assert page.locator("#extend-form").count() == 0
    assert api.get(f"/v1/vouchers/{created['id']}").json()["balance"] == 8_475

    trail = page.locator(f"#trail tbody tr[data-actor='{actor}']")
    mine = [trail.nth(i).inner_text().split("\t")[2:] for i in range(trail.count())]
    assert mine == [
        ["activate", "sold at till 2"],
        ["recharge", "top-up paid in cash"],
        ["charge", ""],
        ["refund", "returned a scarf"],
        ["extend", "goodwill"],
        ["deactivate", "card at the lost desk"],
        ["activate", "owner came back"],
        ["end", "store closing"],
    ]
    assert email in trail.first.inner_text()  # the staff user by address, not only by id
    qr = page.locator("#qr")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    keep(page, artifacts, "voucher-actions", docs=True)
    # At the till on a phone: nothing wider than the screen, every table scrolls in its box.
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/dashboard/", page.url.split(live_server.url)[1], "/dashboard/audit"):
        page.goto(f"{live_server.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
    page.goto(f"{live_server.url}/dashboard/vouchers/{created['id']}")
    keep(page, artifacts, "voucher-phone")


def test_auditor_and_clerk_are_held_to_their_roles(
    context: BrowserContext,
    live_server: LiveServer,
    tenant: TenantFixture,
    api: Api,
    artifacts: Path,
) -> None:
    created = api.create_voucher(code="ROLE-0001", amount=5_000)
    base = f"{live_server.url}/dashboard/vouchers/{created['id']}"
    page = context.new_page()
    sign_in(page, live_server, make_user(live_server, tenant, "auditor"))
    find(page, "ROLE-0001")
    assert page.locator(".actions form").count() == 0  # read-only: no action at all
    assert page.locator("#qr").count() == 0
    csrf = page.locator("header input[name=csrf]").first.input_value()
    for action, fields in (
        ("charge", {"amount": "1"}),
        ("refund", {"entry": "1", "reason": "x"}),
        ("extend", {"ends_at": "2999-01-01", "reason": "x"}),
        ("reserve", {"amount": "1", "minutes": "5"}),
        ("release", {"reservation": "1"}),
        ("capture", {"reservation": "1"}),
    ):
        answer = page.request.post(
            f"{base}/{action}", form={"csrf": csrf, "confirm": "yes", **fields}, max_redirects=0
        )
        assert answer.status == 403 and "Your role does not allow this action." in answer.text()
    assert page.request.get(f"{base}/qr.svg").status == 403
    page.get_by_role("link", name="Audit", exact=True).click()
    page.wait_for_selector("#audit")
    keep(page, artifacts, "auditor-voucher")

    clerk = (
        context.browser.new_context(locale="en-US", timezone_id="UTC") if context.browser else None
    )
    assert clerk is not None
    try:
        till = clerk.new_page()
        sign_in(till, live_server, make_user(live_server, tenant, "clerk"))
        assert till.get_by_role("link", name="Audit", exact=True).count() == 0
        answer = till.request.get(f"{live_server.url}/dashboard/audit")
        assert answer.status == 403 and "Your role does not allow this action." in answer.text()
        assert till.request.get(f"{live_server.url}/dashboard/audit.csv").status == 403
        find(till, "ROLE-0001")
        assert [f.get_attribute("id") for f in till.locator(".actions form").all()] == [
            "charge-form",
            "reserve-form",
        ]
    finally:
        clerk.close()
    assert api.get(f"/v1/vouchers/{created['id']}").json()["balance"] == 5_000


def test_a_clerk_reserves_then_charges_or_cancels_the_reservation(
    context: BrowserContext,
    live_server: LiveServer,
    tenant: TenantFixture,
    api: Api,
    artifacts: Path,
) -> None:
    created = api.create_voucher(code="HOLD-0001", amount=10_000)
    email = make_user(live_server, tenant, "clerk")
    actor = f"user:{email_user_id(live_server, email)}"
    page = context.new_page()
    sign_in(page, live_server, email)
    find(page, "HOLD-0001")
    assert page.locator("#hold").count() == 0
    assert page.locator("#capture-form, #release-form").count() == 0  # nothing held yet

    _act(
        page,
        "Reserve",
        "I confirm this reservation",
        **{"Amount to hold (EUR)": "30", "Hold for (minutes; empty: 30)": "15"},
    )
    page.wait_for_selector("text=Reserved.")
    assert page.locator("#hold").inner_text().startswith("€30.00 until ")
    assert page.locator("#balance").inner_text() == "€100.00"  # held, not charged
    keep(page, artifacts, "voucher-reserved")
    _act(page, "Charge the reservation", "I confirm charging the reservation")
    page.wait_for_selector("text=Reservation charged.")
    assert page.locator("#balance").inner_text() == "€70.00"
    assert page.locator("#hold").count() == 0

    # A hold longer than a week is refused in words and holds nothing.
    _act(
        page,
        "Reserve",
        "I confirm this reservation",
        **{"Amount to hold (EUR)": "5", "Hold for (minutes; empty: 30)": "99999"},
    )
    assert "minutes" in page.get_by_role("alert").inner_text()
    page.get_by_role("link", name="Back to the form").click()
    page.wait_for_selector("#ledger")
    assert page.locator("#hold").count() == 0

    _act(page, "Reserve", "I confirm this reservation", **{"Amount to hold (EUR)": "10"})
    page.wait_for_selector("text=Reserved.")
    assert page.locator("#hold").inner_text().startswith("€10.00 until ")
    _act(page, "Cancel the reservation", "I confirm cancelling the reservation")
    page.wait_for_selector("text=Reservation cancelled.")
    assert page.locator("#hold").count() == 0
    assert page.locator("#balance").inner_text() == "€70.00"
    assert _rows(page, "ledger", "data-kind") == ["issue", "charge"]
    trail = page.locator(f"#trail tbody tr[data-actor='{actor}']")
    mine = [trail.nth(i).inner_text().split("\t")[2] for i in range(trail.count())]
    assert mine == ["reserve", "charge", "reserve", "release"]
    voucher = api.get(f"/v1/vouchers/{created['id']}").json()
    assert voucher["balance"] == 7_000


def test_customers_and_their_vouchers(
    context: BrowserContext,
    live_server: LiveServer,
    tenant: TenantFixture,
    artifacts: Path,
) -> None:
    made = _fixture_vouchers(live_server, tenant)
    page = context.new_page()
    sign_in(page, live_server, make_user(live_server, tenant, "clerk"))
    page.get_by_role("link", name="Customers").click()
    page.get_by_label("Name, email or reference").fill("ann ex")
    page.get_by_role("button", name="Search").click()
    page.wait_for_selector("#customers")
    assert _rows(page, "customers", "data-customer-id") == [str(made["ann"]["id"])]
    keep(page, artifacts, "customers")
    page.get_by_role("link", name=str(made["ann"]["id"]), exact=True).click()
    page.wait_for_selector("#held")
    assert page.locator("h1").inner_text() == "Customer Ann Example"
    assert _rows(page, "held", "data-public-id") == ["ann-pct", "ann-gift"]
    keep(page, artifacts, "customer")
    page.get_by_role("link", name="ann-gift").click()
    page.wait_for_selector("#ledger")
    assert page.locator("#balance").inner_text() == "€50.00"
    assert page.request.get(f"{live_server.url}/dashboard/customers/999999999").status == 404


def test_audit_feed_filters_and_exports_csv(
    context: BrowserContext,
    live_server: LiveServer,
    tenant: TenantFixture,
    api: Api,
    artifacts: Path,
) -> None:
    created = api.create_voucher(code="AUDIT-0001", amount=5_000)
    other = api.create_voucher(amount=100)
    assert api.post(f"/v1/vouchers/{other['id']}/void", {"reason": "by the API"}).status_code == 200
    manager = make_user(live_server, tenant, "manager")
    page = context.new_page()
    sign_in(page, live_server, manager)
    find(page, "AUDIT-0001")
    _act(page, "Void", "I confirm voiding", **{"Reason for voiding": "=cmd|stolen"})
    page.wait_for_selector("text=Voided.")
    _act(page, "Reinstate", "I confirm reinstating", **{"Reason for reinstating": "found"})
    page.wait_for_selector("text=Reinstated.")
    page.get_by_role("link", name="This voucher in the audit feed").click()
    page.wait_for_selector("#audit")
    assert _rows(page, "audit", "data-operation") == ["reinstate", "void", "activate", "create"]

    me = f"user:{email_user_id(live_server, manager)}"
    page.goto(f"{live_server.url}/dashboard/audit")
    page.get_by_label("Operation").fill("void")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/audit?*operation=void*")
    assert _rows(page, "audit", "data-actor") == [me, f"client:{tenant.client_id}"]
    page.get_by_label("Actor (user:ID, client:ID or a staff email)").fill(manager)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/audit?*actor=*")
    assert _rows(page, "audit", "data-actor") == [me]
    today = datetime.now(UTC).date()
    page.get_by_label("From (date)").fill(today.isoformat())
    page.get_by_label("To (date)").fill(today.isoformat())
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/audit?*since=*")
    assert _rows(page, "audit", "data-actor") == [me]
    keep(page, artifacts, "audit", docs=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download these events as CSV").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["operation"], r["actor"], r["subject_id"]) for r in rows] == [
        ("void", me, created["id"])
    ]
    assert rows[0]["reason"] == "'=cmd|stolen"  # never a formula in a spreadsheet
    page.get_by_label("From (date)").fill((today + timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/audit?*since=*")
    assert "No event matches." in page.locator("#audit").inner_text()
    everything = page.request.get(f"{live_server.url}/dashboard/audit.csv")
    assert everything.headers["content-type"].startswith("text/csv")
    assert len(list(csv.DictReader(io.StringIO(everything.text())))) >= 8


A11Y = (Path(__file__).parent / "a11y.js").read_text()


def test_these_pages_are_labelled_and_fit_a_phone(
    context: BrowserContext,
    live_server: LiveServer,
    tenant: TenantFixture,
    api: Api,
) -> None:
    made = _fixture_vouchers(live_server, tenant)
    created = api.create_voucher(amount=4_200)
    assert api.post("/v1/charges", {"voucher_id": created["id"], "amount": 200}).status_code == 201
    assert context.browser is not None
    phone = context.browser.new_context(
        locale="de-DE", timezone_id="UTC", viewport={"width": 390, "height": 844}, has_touch=True
    )
    try:
        page = phone.new_page()
        sign_in(page, live_server, make_user(live_server, tenant, "manager"))
        for path in (
            "",
            "?days=90",
            "vouchers?status=active",
            f"vouchers/{created['id']}",
            "customers",
            f"customers/{made['ann']['id']}",
            "audit",
        ):
            answer = page.goto(f"{live_server.url}/dashboard/{path}")
            assert answer is not None and answer.status == 200, path
            assert page.evaluate(A11Y) == [], path
    finally:
        phone.close()
