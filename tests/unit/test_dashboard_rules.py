"""The role table, Babel formats, and the dashboard face's error table (every engine error)."""

from __future__ import annotations

import pytest

from tests.unit.test_error_tables import ENGINE_ERRORS, sample_error, sample_inbound
from voucherd.domain import errors
from voucherd.domain.staff import ALLOWED, Action, Role, allowed, normalize_email, require
from voucherd.faces.errors import Internal, Unavailable, lookup
from voucherd.web.face import FACE, CsrfRefused, SignedOut
from voucherd.web.formats import Formats, negotiate


def test_role_table() -> None:
    assert ALLOWED[Role.OWNER] == frozenset(Action)
    assert not allowed(Role.MANAGER, Action.USERS) and allowed(Role.MANAGER, Action.VOID)
    assert allowed(Role.CLERK, Action.CHARGE) and allowed(Role.CLERK, Action.RESERVE)
    for action in (Action.VOID, Action.REFUND, Action.RECHARGE, Action.EXPORT):
        assert not allowed(Role.CLERK, action)
    assert ALLOWED[Role.AUDITOR] == {Action.LOOK_UP, Action.REPORTS, Action.AUDIT}
    with pytest.raises(errors.Forbidden):
        require(Role.AUDITOR, Action.CHARGE)


def test_email_normalised_or_refused() -> None:
    assert normalize_email("  Ann@Shop.Example ") == "ann@shop.example"
    for bad in ("", "ann", "ann@shop", "a nn@shop.example"):
        with pytest.raises(errors.ValidationFailed):
            normalize_email(bad)


def test_money_and_locale() -> None:
    assert Formats("en_US").money(7450, "EUR") == "€74.50"
    assert Formats("de_DE").money(7450, "EUR") == "74,50\xa0€"
    assert Formats("en_US").money(300, "JPY") == "¥300"
    assert negotiate("de-DE,de;q=0.9") == "de_DE"
    assert negotiate("xx") == "en_US" and negotiate(None) == "en_US"


@pytest.mark.parametrize("cls", ENGINE_ERRORS, ids=lambda c: c.__name__)
def test_every_engine_error_is_a_4xx_html_page(cls: type) -> None:
    refusal = lookup(FACE.errors, sample_error(cls))
    assert 400 <= refusal.status < 500
    response = FACE.render_error(refusal, sample_inbound())
    assert response.status_code == refusal.status and response.media_type == "text/html"
    assert f'data-code="{refusal.code}"' in bytes(response.body).decode()


def test_face_errors_outage_internal_session_csrf() -> None:
    outage = FACE.refusal_response(Unavailable(), sample_inbound())
    assert outage.status_code == 503 and outage.headers["retry-after"]
    internal = FACE.refusal_response(Internal("secret detail"), sample_inbound())
    assert internal.status_code == 500 and b"secret detail" not in bytes(internal.body)
    assert lookup(FACE.errors, CsrfRefused()).status == 403
    signed_out = FACE.render_error(lookup(FACE.errors, SignedOut()), sample_inbound())
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/dashboard/login"
    assert lookup(FACE.errors, errors.Forbidden("no")).status == 403
