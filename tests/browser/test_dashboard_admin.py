"""The owner's pages in a real browser (Debian's Chromium) against the live server: credentials,
users and webhooks; who may reach them; and what every page must be for people (labels,
landmarks, titles, security headers, a phone-sized screen, the user's locale).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from playwright.sync_api import Browser, BrowserContext, Page
from sqlalchemy import func, select

from tests.conftest import Api, LiveServer, TenantFixture
from tests.ports import free_port
from voucherd.db.tables import clients, events, staff_users
from voucherd.dialects.shopee import accounts
from voucherd.services import staff
from voucherd.services.unit_of_work import UnitOfWork

PASSWORD = "correct horse battery staple"
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
# The README's screenshots are refreshed only when asked (VOUCHERD_DOCS_SCREENSHOTS=1 make test):
# a test run must not rewrite tracked files.
REFRESH_DOCS = "VOUCHERD_DOCS_SCREENSHOTS"


def make_user(live_server: LiveServer, tenant: TenantFixture, role: str, name: str = "") -> str:
    email = f"{role}{name}-{tenant.id}@shop.example"
    with UnitOfWork(live_server.engine) as uow:
        staff.create_user(uow, tenant.actor, email, role, PASSWORD)
        uow.commit()
    return email


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context(locale="en-US", timezone_id="UTC")
    yield made
    made.close()


def open_page(context: BrowserContext) -> Page:
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the revoke/delete confirmations
    return page


def sign_in(page: Page, live_server: LiveServer, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{live_server.url}/dashboard/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/dashboard/")


def keep(page: Page, artifacts: Path, name: str, *, docs: bool = False) -> None:
    path = artifacts / f"dashboard-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if docs and os.environ.get(REFRESH_DOCS):
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_IMAGES / f"dashboard-{name}.png")


def shown(page: Page, name: str) -> str:
    return page.locator(f"#shown-once [data-name='{name}']").inner_text()


def token_status(live_server: LiveServer, client_id: str, secret: str) -> int:
    answer = httpx.post(
        f"{live_server.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    )
    return answer.status_code


def test_owner_creates_and_revokes_an_api_client(
    context: BrowserContext, live_server: LiveServer, tenant: TenantFixture, artifacts: Path
) -> None:
    page = open_page(context)
    sign_in(page, live_server, make_user(live_server, tenant, "owner"))
    page.get_by_role("link", name="Credentials").click()
    form = page.locator("#api_client-form")
    form.get_by_label("Client name").fill("till software")
    form.get_by_label("manage").uncheck()
    form.get_by_role("button", name="Create API client").click()
    page.wait_for_selector("#shown-once")
    client_id, secret = shown(page, "client_id"), shown(page, "client_secret")
    assert client_id.startswith("cl_") and len(secret) >= 32
    keep(page, artifacts, "credentials-created")
    assert token_status(live_server, client_id, secret) == 200
    issued = httpx.post(
        f"{live_server.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
    ).json()["access_token"]
    bearer = {"Authorization": f"Bearer {issued}"}
    assert httpx.get(f"{live_server.url}/v1/vouchers", headers=bearer).status_code == 200
    row = page.locator(f"table[data-kind=api_client] tr[data-id='{client_id}']")
    assert "manage" not in row.inner_text() and "use" in row.inner_text()

    page.goto(f"{live_server.url}/dashboard/credentials")  # shown once: not again
    assert secret not in page.content()
    assert page.locator("#shown-once").count() == 0
    keep(page, artifacts, "credentials", docs=True)
    page.get_by_role("button", name=f"Revoke till software ({client_id})").click()
    page.wait_for_selector("text=Revoked.")
    assert row.get_attribute("data-state") == "revoked"
    assert row.get_by_role("button").count() == 0
    assert token_status(live_server, client_id, secret) == 401  # the API refuses it now
    # A token it was given before is refused too, within seconds (polled up to a deadline).
    deadline = time.monotonic() + 5
    while httpx.get(f"{live_server.url}/v1/vouchers", headers=bearer).status_code != 401:
        assert time.monotonic() < deadline, "a revoked client's token still works"
        time.sleep(0.1)
    with live_server.engine.connect() as conn:
        actors = conn.execute(
            select(events.c.operation, events.c.actor).where(
                events.c.tenant_id == tenant.id, events.c.subject_id == client_id
            )
        ).all()
    assert {op for op, actor in actors if actor.startswith("user:")} == {"create", "revoke"}


def _public_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_owner_makes_each_faces_credentials(
    context: BrowserContext, live_server: LiveServer, tenant: TenantFixture, artifacts: Path
) -> None:
    with UnitOfWork(live_server.engine) as uow:
        partner = accounts.create_partner(uow, "marketplace app")
        uow.commit()
    page = open_page(context)
    sign_in(page, live_server, make_user(live_server, tenant, "owner"))
    page.goto(f"{live_server.url}/dashboard/credentials")

    # JTL: a PIN, exchanged by a JTL client for its credentials at /jtl/v1/clients/connect.
    page.locator("#jtl_pin-form").get_by_label("Client name").fill("front till")
    page.get_by_role("button", name="Issue PIN").click()
    pin = shown(page, "PIN")
    assert re.fullmatch(r"[0-9A-Z]{8}", pin)
    connected = httpx.post(f"{live_server.url}/jtl/v1/clients/connect", json={"pin": pin})
    assert connected.status_code in (200, 201), connected.text
    page.goto(f"{live_server.url}/dashboard/credentials")
    assert page.locator("table[data-kind=jtl_pin] tr[data-state=connected]").count() == 1
    page.get_by_role("button", name=re.compile("^Revoke front till")).click()
    page.wait_for_selector("table[data-kind=jtl_pin] tr[data-state=revoked]")

    # Spaaza: an app (hostname) and a privileged token.
    host = f"app-{tenant.id}.shop.example"
    page.get_by_label("App hostname").fill(host)
    page.get_by_role("button", name="Create app").click()
    assert shown(page, "hostname") == host
    page.get_by_role("button", name="Create token").click()
    assert shown(page, "token").startswith("spz_")

    # Revenue Monster: a client for a public key.
    page.get_by_label("RSA public key (PEM)").fill("not a key")
    page.get_by_role("button", name="Create RM client").click()
    assert page.locator("#rm_client [role=alert]").count() == 1  # refused, nothing made
    page.get_by_label("RSA public key (PEM)").fill(_public_key())
    page.get_by_role("button", name="Create RM client").click()
    assert shown(page, "clientId").startswith("cl_")

    # Shopee: the shop authorises a partner and gets its one-time code.
    page.get_by_label("Partner id").fill(str(partner.partner_id))
    page.get_by_role("button", name="Authorise partner").click()
    assert re.fullmatch(r"[0-9a-f]{32}", shown(page, "code"))
    keep(page, artifacts, "credentials-faces")
    page.get_by_role("button", name=re.compile("^Revoke marketplace app")).click()
    page.wait_for_selector("table[data-kind=shopee_partner] tr[data-state=revoked]")
    for kind in ("spaaza_app", "spaaza_token", "rm_client"):
        assert page.locator(f"table[data-kind={kind}] tr[data-state=active]").count() == 1


@pytest.mark.parametrize("role", ["manager", "clerk", "auditor"])
def test_only_owners_reach_the_owner_pages(
    context: BrowserContext, live_server: LiveServer, tenant: TenantFixture, role: str
) -> None:
    page = open_page(context)
    sign_in(page, live_server, make_user(live_server, tenant, role))
    nav = page.get_by_role("navigation", name="Main")
    for name in ("Credentials", "Users", "Webhooks"):
        assert nav.get_by_role("link", name=name).count() == 0
    for path in ("credentials", "users", "webhooks"):
        answer = page.goto(f"{live_server.url}/dashboard/{path}")
        assert answer is not None and answer.status == 403
        assert "Your role does not allow this action." in page.content()
    page.goto(f"{live_server.url}/dashboard/")
    csrf = page.locator("form[action$='/logout'] input[name=csrf]").input_value()
    with live_server.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(clients)).scalar_one()
    # The user's own session and CSRF token, hand-made owner requests: refused by role.
    for path, fields in (
        ("credentials/api_client", {"name": "forged", "scopes": "manage"}),
        ("users", {"email": f"forged-{tenant.id}@shop.example", "role": "owner"}),
        ("webhooks", {"url": "https://evil.example/hook", "event_types": "*"}),
        (f"credentials/api_client/{tenant.client_id}/revoke", {}),
    ):
        answer = page.request.post(
            f"{live_server.url}/dashboard/{path}", form={"csrf": csrf, **fields}, max_redirects=0
        )
        assert answer.status == 403, path
    with live_server.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(clients)).scalar_one() == before
    assert token_status(live_server, tenant.client_id, tenant.client_secret) == 200


def test_users_invite_role_change_and_logout_everywhere(
    browser: Browser, live_server: LiveServer, tenant: TenantFixture, artifacts: Path
) -> None:
    contexts = [browser.new_context(locale="en-US", timezone_id="UTC") for _ in range(3)]
    try:
        owner_page, clerk_page, new_page = (open_page(c) for c in contexts)
        clerk = make_user(live_server, tenant, "clerk")
        sign_in(clerk_page, live_server, clerk)
        sign_in(owner_page, live_server, make_user(live_server, tenant, "owner"))
        owner_page.get_by_role("link", name="Users").click()

        owner_page.locator("#invite-form").get_by_label("Email").fill(
            f"new-{tenant.id}@shop.example"
        )
        owner_page.get_by_label("Role", exact=True).select_option("auditor")
        owner_page.get_by_role("button", name="Add user").click()
        password = shown(owner_page, "password")
        sign_in(new_page, live_server, f"new-{tenant.id}@shop.example", password)
        assert f"new-{tenant.id}@shop.example (auditor)" in new_page.content()

        row = owner_page.locator(f"#staff tr[data-email='{clerk}']")
        assert row.get_attribute("data-sessions") == "1"
        owner_page.get_by_label(f"Role of {clerk}", exact=True).select_option("manager")
        owner_page.get_by_role("button", name=f"Change role of {clerk}").click()
        owner_page.wait_for_selector("text=Role changed.")
        assert row.get_attribute("data-role") == "manager"
        clerk_page.reload()
        assert f"{clerk} (manager)" in clerk_page.content()  # the open session, new role
        keep(owner_page, artifacts, "users", docs=True)

        owner_page.get_by_role("button", name=f"Log {clerk} out everywhere").click()
        owner_page.wait_for_selector("text=The user's sessions ended.")
        assert row.get_attribute("data-sessions") == "0"
        clerk_page.reload()
        clerk_page.wait_for_url(f"{live_server.url}/dashboard/login")

        owner_page.get_by_role("button", name=f"Disable {clerk}").click()
        owner_page.wait_for_selector("text=User disabled; their sessions ended.")
        assert row.get_attribute("data-state") == "disabled"
        clerk_page.get_by_label("Email").fill(clerk)
        clerk_page.get_by_label("Password").fill(PASSWORD)
        clerk_page.get_by_role("button", name="Sign in").click()
        assert clerk_page.locator("[role=alert]").count() == 1  # a disabled user cannot sign in
        with live_server.engine.connect() as conn:
            ops = conn.execute(
                select(events.c.operation).where(
                    events.c.tenant_id == tenant.id,
                    events.c.subject == "staff_user",
                    events.c.actor.like("user:%"),
                )
            ).scalars().all()  # fmt: skip
        assert {"create", "change_role", "logout_everywhere", "disable"} <= set(ops)
    finally:
        for made in contexts:
            made.close()


def test_new_password_by_the_owner_and_changing_ones_own(
    browser: Browser, live_server: LiveServer, tenant: TenantFixture, artifacts: Path
) -> None:
    contexts = [browser.new_context(locale="en-US", timezone_id="UTC") for _ in range(2)]
    try:
        owner_page, clerk_page = (open_page(c) for c in contexts)
        clerk = make_user(live_server, tenant, "clerk")
        sign_in(clerk_page, live_server, clerk)
        sign_in(owner_page, live_server, make_user(live_server, tenant, "owner"))
        owner_page.goto(f"{live_server.url}/dashboard/users")
        owner_page.get_by_role("button", name=f"New password for {clerk}").click()
        fresh = shown(owner_page, "password")
        clerk_page.reload()
        clerk_page.wait_for_url(f"{live_server.url}/dashboard/login")  # the reset ended it
        sign_in(clerk_page, live_server, clerk, fresh)

        clerk_page.get_by_role("link", name=re.compile("^Your account")).click()
        clerk_page.get_by_label("Current password").fill(fresh)
        clerk_page.get_by_label("New password (at least 12 characters)").fill("mine and only mine")
        clerk_page.get_by_label("New password again").fill("mine and only mine!")
        clerk_page.get_by_role("button", name="Change password").click()
        assert "The two new passwords differ." in clerk_page.locator("[role=alert]").inner_text()
        clerk_page.get_by_label("Current password").fill(fresh)
        clerk_page.get_by_label("New password (at least 12 characters)").fill("mine and only mine")
        clerk_page.get_by_label("New password again").fill("mine and only mine")
        clerk_page.get_by_role("button", name="Change password").click()
        clerk_page.wait_for_selector("text=Password changed.")
        keep(clerk_page, artifacts, "account")
        clerk_page.goto(f"{live_server.url}/dashboard/")  # this session stayed
        assert f"{clerk} (clerk)" in clerk_page.content()
        assert clerk_page.evaluate(A11Y) == []
        fresh_context = browser.new_context(locale="en-US", timezone_id="UTC")
        try:
            sign_in(fresh_context.new_page(), live_server, clerk, "mine and only mine")
        finally:
            fresh_context.close()
    finally:
        for made in contexts:
            made.close()


@pytest.fixture
def receiver() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port(offset=11)), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks"
    server.shutdown()
    server.server_close()


def test_webhooks_create_see_deliveries_and_delete(
    context: BrowserContext,
    live_server: LiveServer,
    tenant: TenantFixture,
    api: Api,
    receiver: str,
    artifacts: Path,
) -> None:
    page = open_page(context)
    owner = make_user(live_server, tenant, "owner")
    sign_in(page, live_server, owner)
    page.get_by_role("link", name="Webhooks").click()
    page.get_by_label("URL").fill("ftp://nowhere.example")
    page.get_by_role("button", name="Add webhook").click()
    assert "url must be an http(s) URL" in page.locator("#webhook-form [role=alert]").inner_text()
    page.get_by_label("URL").fill(receiver)
    page.get_by_label("Event types").fill("voucher.*")
    page.get_by_label("Description (optional)").fill("the shop's ERP")
    page.get_by_role("button", name="Add webhook").click()
    secret = shown(page, "secret")
    assert secret.startswith("whsec_")
    api.create_voucher(amount=2_500)
    hook = page.locator(f"section.hook[data-url='{receiver}']")
    # The built-in worker delivers in the background; the page shows it once it is done.
    for _ in range(120):
        page.goto(f"{live_server.url}/dashboard/webhooks")
        if hook.locator("tr[data-status=delivered]").count():
            break
        page.wait_for_timeout(250)
    assert hook.locator("tr[data-status=delivered]").count() >= 1  # the voucher's events
    assert secret not in page.content()
    keep(page, artifacts, "webhooks", docs=True)
    # Send one delivery again: it goes out once more (a second attempt).
    first = hook.locator("tr[data-status=delivered]").first
    delivery = first.get_attribute("data-id")
    page.get_by_role("button", name=f"Send delivery {delivery} again").click()
    page.wait_for_selector("text=The delivery is sent again.")
    again = hook.locator(f"tr[data-id='{delivery}']")
    for _ in range(120):
        if again.get_attribute("data-attempts") == "2":
            break
        page.wait_for_timeout(250)
        page.goto(f"{live_server.url}/dashboard/webhooks")
    assert again.get_attribute("data-status") == "delivered"
    assert again.get_attribute("data-attempts") == "2"
    page.get_by_role("button", name=f"Delete the webhook to {receiver}").click()
    page.wait_for_selector("text=Webhook deleted.")
    assert hook.count() == 0
    assert api.get("/v1/webhooks").json()["data"] == []
    # Adding and deleting are in the trail, by the owner (the refused add left nothing).
    with live_server.engine.connect() as conn:
        trail = conn.execute(
            select(events.c.operation, events.c.actor)
            .where(events.c.tenant_id == tenant.id, events.c.subject == "webhook")
            .order_by(events.c.id)
        ).all()
        owner_id = conn.execute(
            select(staff_users.c.id).where(staff_users.c.email == owner)
        ).scalar_one()
    assert [tuple(t) for t in trail] == [
        ("create", f"user:{owner_id}"),
        ("delete", f"user:{owner_id}"),
    ]


A11Y = (Path(__file__).parent / "a11y.js").read_text()
# What sticks out past the right edge of the screen (for the failure message).
WIDE = """() => [...document.querySelectorAll('body *')]
  .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
  .slice(0, 5).map((e) => e.outerHTML.slice(0, 120))"""


def test_every_page_is_labelled_landmarked_secure_and_fits_a_phone(
    browser: Browser,
    live_server: LiveServer,
    tenant: TenantFixture,
    api: Api,
    artifacts: Path,
) -> None:
    created = api.create_voucher(amount=4_200)
    phone = browser.new_context(
        locale="de-DE", timezone_id="UTC", viewport={"width": 390, "height": 844}, has_touch=True
    )
    try:
        page = open_page(phone)
        login = page.goto(f"{live_server.url}/dashboard/login")
        assert login is not None
        assert page.evaluate(A11Y) == []
        sign_in(page, live_server, make_user(live_server, tenant, "owner"))
        cookie = next(c for c in phone.cookies() if c["name"] == "vd_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert cookie["path"] == "/dashboard"
        for path in (
            "",
            "vouchers",
            f"vouchers/{created['id']}",
            "credentials",
            "users",
            "webhooks",
            "account",
            "customers",
            "audit",
        ):
            answer = page.goto(f"{live_server.url}/dashboard/{path}")
            assert answer is not None and answer.status == 200, path
            headers = answer.headers
            assert "script-src 'self'" in headers["content-security-policy"]
            assert "frame-ancestors 'none'" in headers["content-security-policy"]
            assert "unsafe-inline" not in headers["content-security-policy"]
            assert headers["x-frame-options"] == "DENY"
            assert headers["cache-control"] == "no-store"
            problems = page.evaluate(A11Y)
            assert problems == [], (path, problems, page.evaluate(WIDE) if problems else [])
        # The user's locale (de-DE): dates as Germans write them, money with a decimal comma.
        page.goto(f"{live_server.url}/dashboard/users")
        assert re.search(r"\b\d{2}\.\d{2}\.\d{4}\b", page.locator("#staff").inner_text())
        page.goto(f"{live_server.url}/dashboard/vouchers/{created['id']}")
        assert page.locator("#balance").inner_text().replace("\xa0", " ") == "42,00 €"
        keep(page, artifacts, "phone-voucher")
        # Every asset is served by the app itself (offline): nothing from another origin.
        for src in page.eval_on_selector_all(
            "script[src], link[href], img[src]", "els => els.map(e => e.src || e.href)"
        ):
            assert src.startswith(live_server.url), src
    finally:
        phone.close()
