"""Campaign pages and CSV in and out on the dashboard, in a real browser (issue 12).

Create a campaign with code settings, generate 1,000 codes watching the job's progress,
download them as CSV (1,000 unique codes), print the sheet of cards with QR codes; import a
CSV (all or nothing, bad lines named); a clerk gets neither downloads nor codes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from tests.browser.test_dashboard import keep, make_user, sign_in
from tests.browser.test_dashboard_pages import A11Y
from tests.conftest import Api, LiveServer, TenantFixture


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context(locale="en-US", timezone_id="UTC", accept_downloads=True)
    yield made
    made.close()


@pytest.fixture
def api_campaign(api: Api) -> int:
    """A campaign with a few vouchers, made through the native API."""
    made = api.post(
        "/v1/campaigns",
        {"name": "Spring", "template": {"kind": "stored_value", "currency": "EUR", "amount": 900}},
    )
    assert made.status_code == 201, made.text
    campaign_id = int(made.json()["id"])
    generated = api.post(f"/v1/campaigns/{campaign_id}/generate", {"count": 3})
    assert generated.status_code == 201, generated.text
    return campaign_id


def test_create_generate_download_and_print(
    context: BrowserContext, live_server: LiveServer, tenant: TenantFixture, artifacts: Path
) -> None:
    email = make_user(live_server, tenant, "manager")
    page = context.new_page()
    sign_in(page, live_server, email)

    page.get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Name").fill("Winter gift cards")
    page.get_by_label("Kind").select_option("stored_value")
    page.get_by_label("Amount, percentage or gift").fill("25.00")
    page.get_by_label("Currency (ISO 4217)").fill("QQQ")
    page.get_by_role("button", name="Create campaign").click()
    # Refused: the form again, as it was filled in, naming what to fix; nothing was created.
    expect(page.locator("#form-error")).to_contain_text("currency")
    expect(page.get_by_label("Name")).to_have_value("Winter gift cards")
    page.get_by_label("Currency (ISO 4217)").fill("EUR")
    page.get_by_label("Valid until (date, optional)").fill("2099-12-31")
    page.get_by_label("Random characters").fill("10")
    page.get_by_label("Prefix").fill("wg-")
    page.get_by_label("Add a check character").check()
    page.get_by_label("Create the vouchers active").check()
    keep(page, artifacts, "campaign-new")
    page.get_by_role("button", name="Create campaign").click()

    expect(page.locator("h1")).to_have_text("Campaign Winter gift cards")
    example = page.locator("#code-example").inner_text()
    assert example.startswith("WG-") and len(example) == 3 + 10 + 1  # prefix, random, check

    page.get_by_label("How many").fill("1000")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("h1")).to_have_text("Generating codes")
    # progress.js polls the job; the page shows each step until the worker has finished.
    expect(page.locator("#job")).to_have_attribute("data-status", "succeeded", timeout=120_000)
    expect(page.locator("#job-bar")).to_have_attribute("value", "1000")
    keep(page, artifacts, "campaign-job")

    page.get_by_role("link", name="Back to the campaign").click()
    expect(page.locator("#voucher-count")).to_have_text("1,000")
    keep(page, artifacts, "campaign", docs=True)

    with page.expect_download() as downloading:
        page.locator("#codes-csv").click()
    download = downloading.value
    text = Path(download.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    codes = [row["code"] for row in rows]
    assert len(codes) == 1000
    assert len(set(codes)) == 1000
    assert all(c.startswith("WG-") and len(c) == 14 for c in codes)
    assert {row["balance"] for row in rows} == {"2500"}
    assert {(row["currency"], row["status"]) for row in rows} == {("EUR", "active")}

    page.locator("#sheet-link").click()
    cards = page.locator(".card")
    expect(cards).to_have_count(60)
    first_code = cards.first.locator(".code").inner_text()
    assert first_code in codes
    expect(cards.first.locator(".value")).to_have_text("€25.00")
    qr = cards.first.locator("img.qr")
    assert (qr.get_attribute("src") or "").startswith("data:image/svg+xml")
    # Each QR image was decoded by the browser (an SVG it could not render has no size).
    widths = page.eval_on_selector_all("img.qr", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(widths) == 60 and min(widths) > 0
    page.emulate_media(media="print")
    expect(page.locator("header")).to_be_hidden()  # print CSS: only the cards
    keep(page, artifacts, "campaign-sheet")
    page.emulate_media(media="screen")
    page.get_by_role("link", name="Next page").click()
    expect(page.locator(".card")).to_have_count(60)
    assert page.locator(".card .code").first.inner_text() != first_code


def good_bytes() -> bytes:
    return b"code,amount,currency\nIMP-0001,500,EUR\nIMP-0002,700,EUR\n"


def test_import_csv_all_or_nothing(
    context: BrowserContext,
    live_server: LiveServer,
    tenant: TenantFixture,
    artifacts: Path,
    tmp_path: Path,
) -> None:
    email = make_user(live_server, tenant, "owner")
    page = context.new_page()
    sign_in(page, live_server, email)
    bad = tmp_path / "bad.csv"
    bad.write_text("code,amount,currency\nIMP-0001,500,EUR\nIMP-0002,5.00,EUR\nIMP-0001,1,EUR\n")
    page.goto(f"{live_server.url}/dashboard/imports/vouchers")
    page.get_by_label("CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Import").click()
    errors = page.locator("#import-errors tbody tr")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("3")
    expect(errors.nth(0)).to_contain_text("amount")
    expect(errors.nth(1)).to_contain_text("already on line 2")
    keep(page, artifacts, "import-rejected")

    # An upload without the form's CSRF token is refused before anything is read.
    forged = page.request.post(
        f"{live_server.url}/dashboard/imports/vouchers",
        multipart={
            "file": {"name": "x.csv", "mimeType": "text/csv", "buffer": good_bytes()},
        },
    )
    assert forged.status == 403 and "reload the page" in forged.text()

    page.goto(f"{live_server.url}/dashboard/vouchers?q=IMP-0001")
    expect(page.locator("body")).to_contain_text("No voucher has this code")

    good = tmp_path / "good.csv"
    good.write_bytes(good_bytes())
    page.goto(f"{live_server.url}/dashboard/imports/vouchers")
    page.get_by_label("CSV file").set_input_files(str(good))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-done")).to_have_text("Imported 2 vouchers.")

    page.goto(f"{live_server.url}/dashboard/exports")
    with page.expect_download() as downloading:
        page.locator("#export-vouchers").click()
    rows = list(csv.DictReader(io.StringIO(Path(downloading.value.path()).read_text("utf-8"))))
    assert sorted((r["code"], r["balance"]) for r in rows) == [
        ("IMP-0001", "500"),
        ("IMP-0002", "700"),
    ]
    with page.expect_download() as downloading:
        page.locator("#export-ledger").get_by_role("button").click()
    ledger = Path(downloading.value.path()).read_text("utf-8").splitlines()
    assert ledger[0].startswith("id,created_at,voucher,kind,amount") and len(ledger) == 3


def test_a_clerk_gets_no_downloads_and_no_codes(
    context: BrowserContext, live_server: LiveServer, tenant: TenantFixture, api_campaign: int
) -> None:
    email = make_user(live_server, tenant, "clerk")
    page = context.new_page()
    sign_in(page, live_server, email)
    page.goto(f"{live_server.url}/dashboard/campaigns/{api_campaign}")
    expect(page.locator("h1")).to_contain_text("Campaign")
    expect(page.locator("#codes-csv")).to_have_count(0)
    expect(page.locator("#sheet-link")).to_have_count(0)
    expect(page.locator("#generate-form")).to_have_count(0)
    base = f"{live_server.url}/dashboard"
    # A forged generate from the clerk's session (with its CSRF token) is refused by role.
    page.goto(f"{base}/campaigns")
    token = page.locator("input[name=csrf]").first.get_attribute("value")
    assert token
    forged = page.request.post(
        f"{base}/campaigns/{api_campaign}/generate", form={"csrf": token, "count": "5"}
    )
    assert forged.status == 403
    imported = page.request.post(
        f"{base}/imports/vouchers",
        multipart={
            "csrf": token,
            "file": {
                "name": "x.csv",
                "mimeType": "text/csv",
                "buffer": b"code,amount,currency\nCLERK-1,1,EUR\n",
            },
        },
    )
    assert imported.status == 403
    for path in (
        f"/campaigns/{api_campaign}/codes.csv",
        f"/campaigns/{api_campaign}/sheet",
        "/exports/vouchers.csv",
        "/exports/events.csv",
        "/exports",
    ):
        response = page.request.get(base + path)
        assert response.status == 403, path
        assert "text/html" in response.headers["content-type"]


def test_campaign_and_csv_pages_are_labelled_and_fit_a_phone(
    context: BrowserContext, live_server: LiveServer, tenant: TenantFixture, api_campaign: int
) -> None:
    assert context.browser is not None
    phone = context.browser.new_context(
        locale="de-DE", timezone_id="UTC", viewport={"width": 390, "height": 844}, has_touch=True
    )
    try:
        page = phone.new_page()
        sign_in(page, live_server, make_user(live_server, tenant, "manager"))
        for path in (
            "campaigns",
            "campaigns/new",
            f"campaigns/{api_campaign}",
            f"campaigns/{api_campaign}/sheet",
            "exports",
            "imports/vouchers",
        ):
            answer = page.goto(f"{live_server.url}/dashboard/{path}")
            assert answer is not None and answer.status == 200, path
            assert page.evaluate(A11Y) == [], path
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390 + 1, (path, width)
    finally:
        phone.close()
