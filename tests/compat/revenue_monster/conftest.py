"""Fixtures for the Revenue Monster dialect: RSA keys, RM clients, batches, a signing client."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import Engine

from tests.conftest import LiveServer, make_tenant
from voucherd.dialects.revenue_monster import batches, signing
from voucherd.dialects.revenue_monster.cli import create_client

DATA = Path(__file__).parent / "data"


@dataclass
class KeyPair:
    private: rsa.RSAPrivateKey
    private_path: Path
    public_pem: str


def make_key_pair(directory: Path, name: str) -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    path = directory / f"{name}.pem"
    path.write_bytes(private_pem)
    return KeyPair(key, path, public_pem)


@pytest.fixture(scope="session")
def rm_keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[KeyPair, KeyPair]:
    """Two client key pairs (generated once: RSA generation is slow)."""
    directory = tmp_path_factory.mktemp("rm_keys")
    return make_key_pair(directory, "a"), make_key_pair(directory, "b")


@dataclass
class RmMerchant:
    tenant_id: int
    client_id: str
    client_secret: str
    key: KeyPair


def make_merchant(engine: Engine, key: KeyPair) -> RmMerchant:
    tenant = make_tenant(engine, "rm-merchant")
    created = create_client(engine, tenant.id, key.public_pem)
    return RmMerchant(tenant.id, created["clientId"], created["clientSecret"], key)


@pytest.fixture
def merchant(engine: Engine, rm_keys: tuple[KeyPair, KeyPair]) -> RmMerchant:
    return make_merchant(engine, rm_keys[0])


def make_batch(engine: Engine, tenant_id: int, **fields: Any) -> str:
    spec = {"label": "Free Breakfast", "type": "GIFT", "quantity": 3, **fields}
    return str(batches.create(engine, tenant_id, batches.NewBatch(**spec))["key"])


class RmClient:
    """A merchant app written against RM: token, then signed calls (as the Go SDK signs)."""

    def __init__(self, server: LiveServer, merchant: RmMerchant) -> None:
        self.base = f"{server.url}/rm"
        self.merchant = merchant
        self.http = httpx.Client(timeout=60)
        response = self.token({"grantType": "client_credentials"})
        assert response.status_code == 200, response.text
        self.tokens = response.json()
        self.key = merchant.key.private

    def token(self, body: dict[str, Any], secret: str | None = None) -> httpx.Response:
        credentials = f"{self.merchant.client_id}:{secret or self.merchant.client_secret}"
        return self.http.post(
            f"{self.base}/v1/token",
            content=json.dumps(body),
            headers={
                "Content-Type": "application/json",
                "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(),
            },
        )

    def signed_headers(
        self,
        method: str,
        url: str,
        body: Any = None,
        *,
        nonce: str | None = None,
        timestamp: str | None = None,
        key: rsa.RSAPrivateKey | None = None,
    ) -> dict[str, str]:
        nonce = nonce or secrets.token_hex(16)
        timestamp = timestamp or str(int(time.time()))
        text = signing.plaintext(
            data=signing.data_base64(body),
            method=method,
            nonce_str=nonce,
            request_url=url,
            timestamp=timestamp,
        )
        return {
            "Authorization": f"Bearer {self.tokens['accessToken']}",
            "Content-Type": "application/json",
            "X-Nonce-Str": nonce,
            "X-Timestamp": timestamp,
            "X-Signature": signing.header_value(signing.sign(key or self.key, text)),
        }

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        send: bytes | None = None,
        headers: dict[str, str] | None = None,
        **sign_options: Any,
    ) -> httpx.Response:
        url = str(httpx.URL(f"{self.base}{path}"))  # as sent: the query percent-encoded
        signed = headers or self.signed_headers(method, url, body, **sign_options)
        content = (
            send
            if send is not None
            else (signing.canonical_json(body).encode() if body is not None else None)
        )
        return self.http.request(method.upper(), url, content=content, headers=signed)

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def rm(live_server: LiveServer, merchant: RmMerchant) -> Iterator[RmClient]:
    client = RmClient(live_server, merchant)
    yield client
    client.close()


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    return str(body["error"]["code"])
