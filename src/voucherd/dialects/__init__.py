"""Vendor-compatible faces. Each dialect package exposes:

- ``mount(app: FastAPI) -> None``: adds its routes (under its own prefix) to the main app;
- optionally a ``cli`` module with ``cli: typer.Typer``: its admin commands, added as
  ``voucherd <name> ...`` (imported by the CLI only: a server never loads typer);
- optionally ``EXPIRING``: tables of short-lived rows the sweep deletes past ``expires_at``;
- optionally ``CREDENTIALS``: ``voucherd.faces.credentials.CredentialKind``s the dashboard's
  credentials page offers (created and revoked there by the functions the CLI uses);
- optionally ``direct_routes(routes) -> list[faces.direct.DirectRoute]``: its hottest routes,
  answered before the main router (``faces.direct.mounted``), given the main app's routes
  after every dialect is mounted;
- optionally ``worker_parts(engine, parts)``: adds its outbox subscribers and per-pass tasks
  to the built-in worker's ``Parts`` (``services/worker.py``).

A dialect translates wire formats only; business rules live in ``domain/`` and ``services/``.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from sqlalchemy import Engine

from voucherd.faces.credentials import CredentialKind, collect
from voucherd.services.worker import Parts

# (package, CLI command name)
DIALECTS: tuple[tuple[str, str], ...] = (
    ("jtl", "jtl"),
    ("shopee", "shopee"),
    ("spaaza", "spaaza"),
    ("revenue_monster", "rm"),
)


def load(enabled: str | None = None) -> list[tuple[ModuleType, str]]:
    """The dialect packages that exist in this build and are enabled (default: all).

    Raises: ValueError when ``enabled`` names a dialect that does not exist.
    """
    names = {package for package, _ in DIALECTS}
    wanted = names if enabled is None else set(enabled.replace(",", " ").split())
    if wanted - names:
        raise ValueError(f"unknown dialect(s): {sorted(wanted - names)}; known: {sorted(names)}")
    found = []
    for package, command in DIALECTS:
        if package not in wanted:
            continue
        try:
            module = importlib.import_module(f"voucherd.dialects.{package}")
        except ModuleNotFoundError as exc:
            if exc.name != f"voucherd.dialects.{package}":
                raise
            continue
        found.append((module, command))
    return found


def commands(module: ModuleType) -> Any | None:
    """A dialect's admin commands (``typer.Typer``): ``cli`` in its ``cli`` module, or None."""
    name = f"{module.__name__}.cli"
    try:
        commands_module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None
    return getattr(commands_module, "cli", None)


def worker_parts(engine: Engine, enabled: str | None = None) -> Parts:
    """What the enabled dialects give the built-in worker (subscribers, tasks, purges)."""
    parts = Parts()
    for module, _command in load(enabled):
        parts.purge.extend(getattr(module, "EXPIRING", ()))
        add = getattr(module, "worker_parts", None)
        if add is not None:
            add(engine, parts)
    return parts


def credential_kinds(loaded: list[tuple[ModuleType, str]]) -> tuple[CredentialKind, ...]:
    """The credentials the loaded dialects offer the dashboard, in dialect order."""
    return collect([kind for module, _ in loaded for kind in getattr(module, "CREDENTIALS", ())])
