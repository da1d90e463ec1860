"""The dialect's settings, from the environment (prefix ``VOUCHERD_RM_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RmSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VOUCHERD_RM_", extra="ignore")

    # RM answers expiresIn 2591999 (30 days) and refreshTokenExpiresIn 1576799999.
    access_token_ttl_seconds: int = Field(default=2_591_999, ge=60)
    refresh_token_ttl_seconds: int = Field(default=1_576_799_999, ge=60)
    # X-Timestamp may differ from the server clock by at most this much (either way).
    timestamp_window_seconds: int = Field(default=120, ge=1)
    # Callbacks: attempts in all and the pause between them (a merchant may set its own).
    callback_attempts: int = Field(default=5, ge=1)
    callback_retry_seconds: float = Field(default=60.0, gt=0)
    callback_timeout_seconds: float = Field(default=10.0, gt=0)
    # Base of qrUrl when rendered outside a request (callbacks), unless a merchant sets one.
    public_url: str = "http://127.0.0.1:8080/rm"
