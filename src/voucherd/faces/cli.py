"""What every ``voucherd`` command shares: the database option, its engine, JSON out, failure exit.

The core commands (``voucherd.cli``) and each dialect's (``voucherd <dialect> ...``) are a face
like the HTTP ones: they parse options, call one service inside ``transaction`` (or ``database``
for services that run their own units of work), and print JSON. A ``VoucherdError`` becomes
``error (code): message`` on stderr and exit status 2, whichever command raised it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from voucherd.config import Settings
from voucherd.db import sealed
from voucherd.db.engine import make_engine
from voucherd.domain.errors import VoucherdError
from voucherd.services.unit_of_work import UnitOfWork

EXIT_FAILED = 2  # refused input or a business error; 1 stays for "done, but the answer is no"

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="VOUCHERD_DATABASE_URL",
        help="SQLAlchemy URL; default ./voucherd.db",
    ),
]


def fail(reason: str | VoucherdError) -> NoReturn:
    """Say why on stderr and exit with status 2."""
    if isinstance(reason, VoucherdError):
        sys.stderr.write(f"error ({reason.code}): {reason.message}\n")
    else:
        sys.stderr.write(f"error: {reason}\n")
    raise typer.Exit(EXIT_FAILED)


@contextmanager
def database(url: str | None) -> Iterator[Engine]:
    """An engine for the command's database (``--database-url``, else the settings' default).

    A ``VoucherdError`` raised inside ends the command through ``fail``, and so does a
    database that cannot be connected to (one line, no traceback); the engine's connections
    are closed on the way out either way.
    """
    engine = make_engine(url or Settings().database_url)
    try:
        yield engine
    except VoucherdError as exc:
        fail(exc)
    except sealed.KeyMissing as exc:
        fail(f"no key-encryption key: {exc}")
    except OperationalError as exc:
        if exc.statement is not None:  # a statement failed: not a connection problem
            raise
        fail(f"the database at {engine.url.render_as_string(hide_password=True)} does not answer")
    finally:
        engine.dispose()


@contextmanager
def transaction(url: str | None) -> Iterator[UnitOfWork]:
    """One unit of work on the command's database, committed when the block ends normally."""
    with database(url) as engine, UnitOfWork(engine) as uow:
        yield uow
        uow.commit()


def print_json(data: Any) -> None:
    """The command's answer on stdout: indented JSON (dates and the like as strings)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def kek(database_url: str | None) -> bytes:
    """The key-encryption key for the command's database (``db/sealed.py``); exit 2 without."""
    from voucherd.services import keys

    settings = Settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    try:
        return keys.kek(settings)
    except (sealed.KeyMissing, OSError) as exc:
        fail(f"no key-encryption key: {exc}")
