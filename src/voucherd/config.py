"""Settings, read from the environment (prefix ``VOUCHERD_``) and passed explicitly."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VOUCHERD_", extra="ignore")

    database_url: str = "sqlite:///./voucherd.db"
    # The key-encryption key (KEK) that seals stored secrets (signing keys, RM and Shopee keys,
    # webhook secrets), or a file holding it. Unset with SQLite: generated once into
    # ``<database file>.key`` (0600). Unset with PostgreSQL: the server refuses to start.
    secret_key: SecretStr | None = None
    secret_key_file: str | None = None
    # While the KEK changes: the key it replaces, still opening stored values until
    # ``voucherd keys reseal`` has sealed them all under the new one (docs/operations.md).
    previous_secret_key: SecretStr | None = None
    previous_secret_key_file: str | None = None
    token_ttl_seconds: int = Field(default=3600, ge=60, le=86400)
    reservation_ttl_seconds: int = Field(default=1800, ge=1)
    idempotency_ttl_hours: int = Field(default=24, ge=24)
    idempotency_lock_seconds: int = Field(default=60, ge=1)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # A CSV import's body (API and dashboard) is spooled to disk, so it may be far larger.
    max_import_bytes: int = Field(default=1 << 30, ge=1024)
    db_pool_size: int = Field(default=10, ge=1)
    db_pre_ping: bool = False  # test each pooled connection before use (one round trip)
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "info"
    # The operator's bearer token for GET /metrics (spans tenants); unset: /metrics is off (404).
    metrics_token: SecretStr | None = None
    # Which vendor-compatible faces to serve (space-separated): jtl shopee spaaza revenue_monster
    dialects: str = "jtl shopee spaaza revenue_monster"
    # The built-in worker (docs/operations.md): sweep schedule, outbox delivery, long jobs.
    # ``voucherd serve`` runs it inside the server unless ``--no-worker`` (this set to false).
    worker_embedded: bool = True
    worker_poll_seconds: float = Field(default=1.0, gt=0)  # idle pause between passes
    worker_sweep_seconds: float = Field(default=60.0, gt=0)  # expiry, lapsed holds, purges
    worker_election_seconds: float = Field(default=5.0, gt=0)  # a standby retries the lead
    # Generate/import above this many codes answers 202 with a job; the worker commits it in
    # chunks of ``job_chunk_size`` codes, one transaction each.
    job_threshold: int = Field(default=5000, ge=1)
    job_chunk_size: int = Field(default=1000, ge=1)
    # Native webhooks: pause (seconds) after each failed attempt, then failed (about 27.6 h).
    webhook_retry_schedule: str = "5 300 1800 7200 18000 36000 36000"
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    # Abuse resistance (docs/operations.md "Rate limits and lockouts"). Budgets of FAILED
    # attempts, each per client address and per credential, over a sliding window: over
    # budget answers 429 with Retry-After. Counters live in the database, or in Redis when
    # ``redis_url`` is set (e.g. redis://127.0.0.1:6379/0); all workers and hosts share them.
    limits_enabled: bool = True
    redis_url: str | None = None
    # Proxies whose X-Forwarded-For names the client (CIDRs, space- or comma-separated).
    trusted_proxies: str = ""
    limit_auth_failures: int = Field(default=10, ge=1)  # token endpoints, logins
    limit_auth_window_seconds: int = Field(default=300, ge=1)
    limit_guess_failures: int = Field(default=20, ge=1)  # lookups by code that find nothing
    limit_guess_window_seconds: int = Field(default=300, ge=1)
    limit_pin_failures: int = Field(default=10, ge=1)  # wrong voucher/connect/reinstate PINs
    limit_pin_window_seconds: int = Field(default=900, ge=1)
    # A voucher whose PIN was wrong this many times in a row refuses PIN checks for a while.
    pin_lockout_failures: int = Field(default=5, ge=1)
    pin_lockout_seconds: int = Field(default=900, ge=1)
    # A JTL connect PIN dies after this many wrong connect PINs while it was live.
    jtl_pin_max_failures: int = Field(default=20, ge=1)

    def webhook_retries(self) -> list[float]:
        return [float(part) for part in self.webhook_retry_schedule.replace(",", " ").split()]
