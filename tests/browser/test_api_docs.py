"""/docs and /redoc work offline, and Swagger UI's "Authorize" obtains a token."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import Browser, Request, Response

from tests.conftest import LiveServer, TenantFixture


def test_swagger_ui_loads_offline_and_authorize_gets_a_token(
    browser: Browser, live_server: LiveServer, tenant: TenantFixture, artifacts: Path
) -> None:
    requested: list[str] = []
    token_answers: list[int] = []
    blocked: list[str] = []
    context = browser.new_context()
    page = context.new_page()

    def seen(request: Request) -> None:
        requested.append(request.url)

    def answered(response: Response) -> None:
        if urlparse(response.url).path == "/oauth/token":
            token_answers.append(response.status)

    page.on("request", seen)
    # The browser may *try* (ReDoc wants its logo from its CDN); the page's CSP stops it.
    page.on("requestfailed", lambda r: blocked.append(r.url) if r.failure == "csp" else None)
    page.on("response", answered)
    page.goto(f"{live_server.url}/docs", wait_until="networkidle")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
    assert "voucherd" in page.inner_text(".swagger-ui .info .title")
    page.click("button.authorize")
    page.wait_for_selector(".auth-container", timeout=5_000)
    page.fill("input#client_id_clientCredentials", tenant.client_id)
    page.fill("input#client_secret_clientCredentials", tenant.client_secret)
    page.click(".auth-container .auth-btn-wrapper button.authorize")
    page.wait_for_selector('.auth-container h6:has-text("Authorized")', timeout=15_000)
    assert page.get_by_role("button", name="Remove authorization").is_visible()
    page.screenshot(path=str(artifacts / "api-docs-authorized.png"), full_page=False)
    assert token_answers == [200]
    page.goto(f"{live_server.url}/redoc", wait_until="networkidle")
    page.wait_for_selector("h1", timeout=15_000)
    outside = [
        url
        for url in requested
        if url.startswith(("http:", "https:")) and urlparse(url).hostname != "127.0.0.1"
    ]
    assert all(url in blocked for url in outside), (outside, blocked)
    context.close()
