"""What a face offers the dashboard's credentials page: one ``CredentialKind`` per credential.

The dashboard (``voucherd.web``) may not import a dialect: faces of one layer stay apart (see
docs/decisions.md, "Face credentials reach the dashboard through the app's state"). So each
dialect package exposes ``CREDENTIALS``, a tuple of these kinds; the app collects the enabled
dialects' kinds into ``app.state.credential_kinds``, and the dashboard renders whatever is
there. Each kind's functions are the same ones the dialect's CLI calls, so a credential made on
the page is made exactly like one made in a shell.

A kind's functions run inside the dashboard's one transaction, with the staff user as actor
(``user:<id>``); the dashboard has checked the role (owners only) before calling them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from voucherd.domain import errors
from voucherd.domain.scopes import ALL_SCOPES, Scope, parse_scopes
from voucherd.services.unit_of_work import Actor, UnitOfWork

FieldKind = Literal["text", "textarea", "number", "scopes"]


@dataclass(frozen=True, slots=True)
class Field:
    """One input of a kind's create form (``scopes``: a checkbox per scope, all ticked)."""

    name: str
    label: str
    kind: FieldKind = "text"
    required: bool = True
    default: str = ""
    hint: str | None = None
    max_length: int = 255


@dataclass(frozen=True, slots=True)
class Item:
    """One credential as the page lists it; ``revocable`` when it can still be ended."""

    id: str
    label: str
    detail: str
    created_at: datetime | None
    state: str
    revocable: bool


@dataclass(frozen=True, slots=True)
class Issued:
    """What a create gives back: shown on the page once (secrets are not kept in clear)."""

    shown_once: Mapping[str, str]
    note: str | None = None


Lister = Callable[[UnitOfWork, Actor], Sequence[Item]]
Creator = Callable[[UnitOfWork, Actor, Mapping[str, str]], Issued]
Revoker = Callable[[UnitOfWork, Actor, str], None]


@dataclass(frozen=True, slots=True)
class CredentialKind:
    key: str  # unique across faces, a URL segment: [a-z_]+
    face: str  # shown as the section's heading, e.g. "JTL"
    title: str
    about: str
    items: Lister
    create: Creator
    revoke: Revoker
    fields: tuple[Field, ...] = field(default_factory=tuple)
    create_label: str = "Create"


def scopes_field(name: str = "scopes", label: str = "Scopes") -> Field:
    return Field(name, label, "scopes", default=" ".join(sorted(ALL_SCOPES)))


def required(values: Mapping[str, str], name: str, *, max_length: int = 255) -> str:
    """A trimmed, non-empty form value. Raises: ValidationFailed."""
    text = values.get(name, "").strip()
    if not text:
        raise errors.ValidationFailed(f"{name} is required", field=name, rule="required")
    if len(text) > max_length:
        raise errors.ValidationFailed(
            f"{name} has at most {max_length} characters", field=name, rule="max"
        )
    return text


def integer(values: Mapping[str, str], name: str) -> int:
    """A positive integer form value (ids). Raises: ValidationFailed."""
    text = required(values, name, max_length=20)
    if not text.isdigit() or int(text) <= 0:
        raise errors.ValidationFailed(f"{name} must be a positive whole number", field=name)
    return int(text)


def scopes(values: Mapping[str, str], name: str = "scopes") -> frozenset[Scope]:
    """Scopes ticked on the form (space-separated). Raises: ValidationFailed (none, unknown)."""
    try:
        chosen = parse_scopes(values.get(name, ""))
    except ValueError as exc:
        raise errors.ValidationFailed(str(exc), field=name) from None
    if not chosen:
        raise errors.ValidationFailed("tick at least one scope", field=name, rule="required")
    return chosen


def collect(kinds: Sequence[CredentialKind]) -> tuple[CredentialKind, ...]:
    """The kinds in order, refusing two with one key (a programming error, caught at start)."""
    seen: set[str] = set()
    for kind in kinds:
        if kind.key in seen:
            raise ValueError(f"two credential kinds are called {kind.key!r}")
        seen.add(kind.key)
    return tuple(kinds)


__all__ = [
    "CredentialKind",
    "Field",
    "Issued",
    "Item",
    "collect",
    "integer",
    "required",
    "scopes",
    "scopes_field",
]
