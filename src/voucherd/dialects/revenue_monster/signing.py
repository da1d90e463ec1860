"""Revenue Monster request signatures (pure: no I/O).

The algorithm (vendor doc "Signature Algorithm", Go SDK ``signature.go``):

1. the JSON body with keys sorted recursively, compact, ``<`` ``>`` ``&`` escaped as Go does;
2. ``data`` = standard base64 of that; left out for an empty body, ``{}`` or ``null``;
3. plaintext = ``key=value`` pairs sorted by key and joined with ``&``: ``data``, ``method``
   (lower case), ``nonceStr``, ``requestUrl`` (left out when verifying a callback),
   ``signType`` (``sha256``), ``timestamp``;
4. RSA PKCS#1 v1.5 over SHA-256 of the plaintext, standard base64, sent as
   ``X-Signature: sha256 <base64>``.

The vendor's own SDKs diverge from the doc in how they serialise the body (see
``data_variants``); a verifier accepts a signature over any of those serialisations of the
body actually received, which all encode exactly the same JSON value, so nothing the signature
protects is weakened.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SIGN_TYPE = "sha256"
_GO_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def _sorted(value: Any, *, into_arrays: bool) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k], into_arrays=into_arrays) for k in sorted(value)}
    if isinstance(value, list) and into_arrays:
        return [_sorted(item, into_arrays=into_arrays) for item in value]
    return value


def _go_escape(text: str) -> str:
    for char, escaped in _GO_ESCAPES.items():
        text = text.replace(char, escaped)
    return text


def canonical_json(value: Any) -> str:
    """The doc's (and Go SDK's) form: recursively key-sorted, compact, HTML-escaped like Go."""
    text = json.dumps(_sorted(value, into_arrays=True), separators=(",", ":"), ensure_ascii=False)
    return _go_escape(text)


def is_empty_body(value: Any) -> bool:
    return value is None or value == {}


def data_base64(value: Any) -> str | None:
    """Step 2: ``data`` for a parsed JSON body, or None when the body is empty."""
    if is_empty_body(value):
        return None
    return base64.b64encode(canonical_json(value).encode()).decode()


def data_variants(value: Any, raw: bytes) -> list[str | None]:
    """Every ``data`` value a genuine RM client may have signed for this body.

    * the doc / Go SDK form (``canonical_json``);
    * Python SDK (rmsdk): ``json.dumps`` with ASCII escapes, no ``<>&`` escaping, and nested
      objects inside arrays left in their order;
    * JS SDK: ``JSON.stringify`` (raw UTF-8, no ``<>&`` escaping), arrays not recursed into;
    * PHP SDK: unescaped slashes and unicode, ``'`` as ``\\u0027``, and ``data=`` always sent;
    * the exact bytes received, when they are the signed string itself.
    """
    found: list[str | None] = []

    def add(text: str | None) -> None:
        encoded = None if text is None else base64.b64encode(text.encode()).decode()
        if encoded not in found:
            found.append(encoded)

    if is_empty_body(value):
        add(None)
        found.append("")  # PHP: "data=" with nothing after it
        if raw.strip():
            add(raw.strip().decode("utf-8", "replace"))
        return found
    for into_arrays in (True, False):
        ordered = _sorted(value, into_arrays=into_arrays)
        plain = json.dumps(ordered, separators=(",", ":"), ensure_ascii=False)
        add(_go_escape(plain))
        add(plain)
        add(json.dumps(ordered, separators=(",", ":"), ensure_ascii=True))
        add(plain.replace("'", "\\u0027"))
    stripped = raw.strip()
    if stripped:
        add(stripped.decode("utf-8", "replace"))
    return found


def plaintext(
    *,
    data: str | None,
    method: str,
    nonce_str: str,
    request_url: str | None,
    timestamp: str,
    sign_type: str = SIGN_TYPE,
) -> str:
    """Step 3: sorted ``key=value`` pairs; ``data`` and ``requestUrl`` only when given."""
    pairs = {
        "method": method.lower(),
        "nonceStr": nonce_str,
        "signType": sign_type,
        "timestamp": timestamp,
    }
    if data is not None:
        pairs["data"] = data
    if request_url is not None:
        pairs["requestUrl"] = request_url
    return "&".join(f"{key}={pairs[key]}" for key in sorted(pairs))


def sign(private_key: rsa.RSAPrivateKey, text: str) -> str:
    """Step 4: base64 RSA PKCS#1 v1.5 SHA-256 signature (without the ``sha256 `` prefix)."""
    signature = private_key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def header_value(signature_b64: str) -> str:
    return f"{SIGN_TYPE} {signature_b64}"


def parse_header(header: str | None) -> bytes | None:
    """The raw signature from ``X-Signature: sha256 <base64>``; None if malformed."""
    if not header:
        return None
    sign_type, _, encoded = header.strip().partition(" ")
    if sign_type.lower() != SIGN_TYPE or not encoded.strip():
        return None
    try:
        return base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def verify(public_key: rsa.RSAPublicKey, signature: bytes, texts: Iterable[str]) -> str | None:
    """The first of ``texts`` that ``signature`` signs, or None."""
    for text in texts:
        try:
            public_key.verify(signature, text.encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        return text
    return None


def load_public_key(pem: str | bytes) -> rsa.RSAPublicKey:
    """An RSA public key from PEM (``PUBLIC KEY`` or ``RSA PUBLIC KEY``).

    Raises: ValueError when it is not an RSA public key of at least 2048 bits.
    """
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a PEM public key: {exc}") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the key is not an RSA key")
    if key.key_size < 2048:
        raise ValueError("the RSA key must have at least 2048 bits")
    return key


def load_private_key(pem: str | bytes) -> rsa.RSAPrivateKey:
    data = pem.encode() if isinstance(pem, str) else pem
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the key is not an RSA key")
    return key


def new_key_pair() -> tuple[str, str]:
    """(private PEM, public PEM) of a fresh 2048-bit RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def parse_timestamp(text: str | None) -> float | None:
    """Unix seconds from ``X-Timestamp``: integer seconds (doc, Go, PHP), a float string
    (Python SDK ``str(time())``) or integer milliseconds (JS SDK)."""
    if not text:
        return None
    text = text.strip()
    integer, dot, fraction = text.partition(".")
    if not text.isascii() or len(integer) > 13 or len(fraction) > 9:
        return None  # only ASCII digits count (not "²" or full-width digits)
    if not integer.isdigit() or (dot and not fraction.isdigit()):
        return None
    value = float(text)
    if not dot and value > 1e11:  # milliseconds
        value /= 1000
    return value
