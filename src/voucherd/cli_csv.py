"""``voucherd export vouchers|ledger|events`` and ``voucherd import vouchers FILE``: CSV.

The same services as the API's ``/v1/exports/*.csv`` and ``/v1/imports/vouchers``. The CLI is
the operator's, who holds the database and so every permission; codes are still left out of a
vouchers export unless ``--codes`` asks for them, so a file meant for a spreadsheet does not
carry secrets by accident.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, NoReturn, TextIO

import typer

from voucherd.domain.errors import ImportRejected, VoucherdError
from voucherd.faces import csvout
from voucherd.faces.cli import EXIT_FAILED, DatabaseUrl, database, fail, print_json
from voucherd.services import exports, imports, reports, tenants
from voucherd.services.unit_of_work import Actor, UnitOfWork

export_app = typer.Typer(
    help="CSV exports: vouchers, ledger entries, events.", no_args_is_help=True
)
import_app = typer.Typer(help="CSV imports: vouchers with your own codes.", no_args_is_help=True)

TenantOption = Annotated[int, typer.Option(help="Tenant id")]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout")]
From = Annotated[
    str | None, typer.Option("--from", help="From this date or date-time (a date: its end)")
]
To = Annotated[str | None, typer.Option("--to", help="To this date or date-time (a date: its end)")]


def _write(database_url: str | None, tenant: int, plan: exports.Plan, output: Path | None) -> None:
    with database(database_url) as engine:
        with UnitOfWork(engine, readonly=True) as uow:
            tenants.get_tenant(uow, tenant)
            export = plan(uow, Actor(tenant, "cli"))
        out: TextIO
        with output.open("w", encoding="utf-8", newline="") if output else _stdout() as out:
            for line in csvout.lines(export.header, exports.rows(engine, export)):
                out.write(line)


class _stdout:
    """stdout as a context manager that is not closed on exit."""

    def __enter__(self) -> TextIO:
        return sys.stdout

    def __exit__(self, *_exc: object) -> None:
        sys.stdout.flush()


def _moments(since: str | None, until: str | None) -> tuple[datetime | None, datetime | None]:
    try:
        return reports.parse_moment(since, "from"), reports.parse_moment(until, "to")
    except VoucherdError as exc:
        fail(exc)


@export_app.command("vouchers")
def export_vouchers(
    tenant: TenantOption,
    campaign: Annotated[int | None, typer.Option(help="Only this campaign (id)")] = None,
    codes: Annotated[bool, typer.Option("--codes", help="Include the codes (secrets)")] = False,
    output: Output = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The tenant's vouchers, one line each (docs/api.md lists the columns)."""
    _write(
        database_url,
        tenant,
        lambda uow, actor: exports.plan_vouchers(
            uow, actor, with_codes=codes, campaign_id=campaign
        ),
        output,
    )


@export_app.command("ledger")
def export_ledger(
    tenant: TenantOption,
    since: From = None,
    until: To = None,
    output: Output = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Ledger entries created in a period (both ends optional, inclusive)."""
    start, end = _moments(since, until)
    _write(
        database_url,
        tenant,
        lambda uow, actor: exports.plan_ledger(uow, actor, since=start, until=end),
        output,
    )


@export_app.command("events")
def export_events(
    tenant: TenantOption,
    since: From = None,
    until: To = None,
    output: Output = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Events (the audit trail) recorded in a period (both ends optional, inclusive)."""
    start, end = _moments(since, until)
    _write(
        database_url,
        tenant,
        lambda uow, actor: exports.plan_events(uow, actor, since=start, until=end),
        output,
    )


@import_app.command("vouchers")
def import_vouchers(
    file: Annotated[Path, typer.Argument(help="CSV: code,amount,currency[,starts_at,ends_at]")],
    tenant: TenantOption,
    active: Annotated[bool, typer.Option(help="Create the vouchers active")] = True,
    campaign: Annotated[str | None, typer.Option(help="Attach to this campaign (key)")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Import stored-value vouchers: all or nothing; every bad line is listed on stderr."""
    if not file.is_file():
        fail(f"{file} is not a file")
    with (
        database(database_url) as engine,
        UnitOfWork(engine) as uow,
        file.open(encoding="utf-8-sig", newline="") as text,
    ):
        tenants.get_tenant(uow, tenant)
        try:
            done = imports.import_vouchers(
                uow, Actor(tenant, "cli"), text, active=active, campaign_key=campaign
            )
        except ImportRejected as exc:
            _rejected(exc)
        uow.commit()
    print_json({"import_id": done.import_id, "created": done.created})


def _rejected(exc: ImportRejected) -> NoReturn:
    for row in exc.rows:
        field = f" {row['field']}:" if row["field"] else ""
        sys.stderr.write(f"line {row['line']}:{field} {row['message']}\n")
    if exc.error_count > len(exc.rows):
        sys.stderr.write(f"... and {exc.error_count - len(exc.rows)} more\n")
    sys.stderr.write(f"error ({exc.code}): {exc.message}\n")
    raise typer.Exit(EXIT_FAILED)
