"""The OpenAPI description of each Spaaza call (served at /spaaza/openapi.json)."""

from __future__ import annotations

from typing import Any

S = {"type": "string"}
I = {"type": "integer"}  # noqa: E741
VOUCHER = {"voucher_key": {**S, "pattern": "^[0-9a-fA-F]{64}$"}, "voucher_id": I}
USER = {"user_id": I, "member_number": S, "username": S}
CHAIN = {"chain_id": I}
LOCK = {"retailer_basket_code": S, "voucher_lock_period": I, "voucher_locking_code": S}
TEXTS = dict.fromkeys(
    (
        "voucher_title",
        "voucher_text",
        "voucher_description",
        "voucher_notes",
        "voucher_honour_code",
        "voucher_image_url",
    ),
    S,
)

PARAMS: dict[str, dict[str, Any]] = {
    "create_voucher": {
        **USER,
        **CHAIN,
        "campaign_id": I,
        "voucher_amount": S,
        "voucher_type": {"type": "string", "enum": ["basket", "basket_pct"]},
        "voucher_discount_ratio": S,
        "set_claimed": S,
        "expiry_date": S,
        "delete_existing": S,
        **TEXTS,
        **LOCK,
    },
    "claim_voucher": {**VOUCHER, **USER, **CHAIN},
    "unclaim_voucher": {**VOUCHER, **USER, **CHAIN},
    "expire_voucher": {**VOUCHER, **USER, **CHAIN},
    "lock_voucher": {**VOUCHER, **USER, **CHAIN, **LOCK},
    "unlock_voucher": {**VOUCHER, **USER, **CHAIN},
    "redeem_voucher": {
        **VOUCHER,
        **USER,
        **CHAIN,
        "amount": S,
        "retailer_basket_code": S,
        "voucher_locking_code": S,
    },
    "delete_voucher": {**VOUCHER, **USER, **CHAIN},
    "get_vouchers": {
        **USER,
        **CHAIN,
        "campaign_id": I,
        "voucher_id": I,
        "show_expired": S,
        "show_redeemed": S,
        "show_all_statuses": S,
        "exclude_regenerated": S,
        "min_created_datetime": S,
        "max_created_datetime": S,
        "min_expiry_datetime": S,
        "max_expiry_datetime": S,
        "min_redeemed_datetime": S,
        "max_redeemed_datetime": S,
        "number_results": I,
        "results_offset": I,
    },
    "get_user_vouchers": {**USER, **CHAIN, "filter": {"type": "string", "enum": ["all"]}},
    "login": {"username": S, "password": S},
    "get_login_status": {"user_id": I, "session_key": S},
    "logout": {},
}

SUMMARIES = {
    "create_voucher": "Create a voucher for a user (wallet or loyalty campaign)",
    "claim_voucher": "Claim a voucher for a user",
    "unclaim_voucher": "Unclaim a voucher (back to generated)",
    "expire_voucher": "Expire a claimed voucher now",
    "lock_voucher": "Lock a basket voucher to a basket for a period",
    "unlock_voucher": "Unlock a voucher",
    "redeem_voucher": "Redeem a voucher fully or partially",
    "delete_voucher": "Delete a claimed voucher",
    "get_vouchers": "List the chain's vouchers",
    "get_user_vouchers": "List one user's vouchers",
    "login": "Log in (returns session_info)",
    "get_login_status": "Is this session valid?",
    "logout": "End a session",
    "claim_vouchers": "Claim up to 10 vouchers for a user (JSON)",
}

ENVELOPE = {
    "description": "Spaaza envelope: result.code 1 (ok) or 2 (error, with error.code, "
    "error.name, error.description); see docs/compat/spaaza.md",
    "content": {"application/json": {"schema": {"type": "object"}}},
}
RESPONSES = {
    "200": ENVELOPE,
    "400": ENVELOPE,
    "401": ENVELOPE,
    "404": ENVELOPE,
    "405": ENVELOPE,
    "409": ENVELOPE,
    "422": ENVELOPE,
    "500": ENVELOPE,
    "503": ENVELOPE,
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Same key + same request: the first answer again, the change made once.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}

SECURITY_SCHEMES = {
    "SessionUserId": {"type": "apiKey", "in": "header", "name": "X-Spaaza-Session-User-Id"},
    "SessionKey": {"type": "apiKey", "in": "header", "name": "X-Spaaza-Session-Key"},
    "AppHostname": {"type": "apiKey", "in": "header", "name": "X-Spaaza-MyPrice-App-Hostname"},
    "Privileged": {"type": "http", "scheme": "bearer"},
}
SECURITY: list[dict[str, list[str]]] = [
    {"SessionUserId": [], "SessionKey": [], "AppHostname": []},
    {"SessionUserId": [], "SessionKey": []},
    {"Privileged": [], "AppHostname": []},
    {"Privileged": []},
]


def operation(name: str, methods: list[str], *, idempotent: bool = False) -> dict[str, Any]:
    """``openapi_extra`` for one call: its parameters, envelopes and auth."""
    spec: dict[str, Any] = {"responses": RESPONSES}
    if name not in ("login", "get_login_status"):
        spec["security"] = SECURITY
    if idempotent:
        spec["parameters"] = [IDEMPOTENCY_KEY]
    if name == "claim_vouchers":
        spec["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["user", "vouchers"],
                        "properties": {
                            "user": {"type": "object", "properties": USER},
                            "entity": {"type": "object", "properties": CHAIN},
                            "vouchers": {
                                "type": "array",
                                "maxItems": 10,
                                "minItems": 1,
                                "items": {"type": "object", "properties": VOUCHER},
                            },
                            "locking": {"type": "object", "properties": LOCK},
                        },
                    }
                }
            },
        }
        return spec
    props = PARAMS[name]
    if methods == ["GET"]:
        spec["parameters"] = [
            {"name": k, "in": "query", "required": False, "schema": v} for k, v in props.items()
        ]
    elif props:
        schema = {"type": "object", "properties": props}
        spec["requestBody"] = {
            "content": {
                "application/x-www-form-urlencoded": {"schema": schema},
                "multipart/form-data": {"schema": schema},
            }
        }
    return spec
