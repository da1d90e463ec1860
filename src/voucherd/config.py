"""Settings, read from the environment (prefix ``VOUCHERD_``) and passed explicitly."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VOUCHERD_", extra="ignore")

    database_url: str = "sqlite:///./voucherd.db"
    # Signs access tokens. Unset: a random key is generated once and kept in the database, so
    # every worker and host on that database accepts the same tokens.
    secret_key: SecretStr | None = None
    token_ttl_seconds: int = Field(default=3600, ge=60, le=86400)
    reservation_ttl_seconds: int = Field(default=1800, ge=1)
    idempotency_ttl_hours: int = Field(default=24, ge=24)
    idempotency_lock_seconds: int = Field(default=60, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    db_pool_size: int = Field(default=10, ge=1)
    db_pre_ping: bool = False  # test each pooled connection before use (one round trip)
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "info"
    # The operator's bearer token for GET /metrics (spans tenants); unset: /metrics is off (404).
    metrics_token: SecretStr | None = None
    # Which vendor-compatible faces to serve (space-separated): jtl shopee spaaza revenue_monster
    dialects: str = "jtl shopee spaaza revenue_monster"
