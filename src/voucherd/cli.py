"""The ``voucherd`` command: serve, migrate, administer, verify and sweep."""

from __future__ import annotations

import dataclasses
import sys
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select

from voucherd import dialects
from voucherd.config import Settings
from voucherd.db import migrate
from voucherd.db.tables import clients
from voucherd.db.tables import tenants as tenants_table
from voucherd.domain import codes
from voucherd.domain.errors import VoucherdError
from voucherd.domain.scopes import ALL_SCOPES, parse_scopes
from voucherd.domain.vouchers import ValidityUnit, ValueKind
from voucherd.faces import csvout
from voucherd.faces.cli import DatabaseUrl, database, fail, print_json, transaction
from voucherd.services import campaigns, reports, staff, tenants
from voucherd.services import sweep as sweep_service
from voucherd.services import verify as verify_service
from voucherd.services.unit_of_work import Actor, UnitOfWork
from voucherd.services.vouchers import NewVoucher

app = typer.Typer(
    help="voucherd: a self-hosted voucher and gift-card service.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants (merchants).", no_args_is_help=True)
client_app = typer.Typer(help="API clients.", no_args_is_help=True)
campaign_app = typer.Typer(help="Campaigns and bulk codes.", no_args_is_help=True)
user_app = typer.Typer(help="Staff users of the dashboard.", no_args_is_help=True)
report_app = typer.Typer(help="Reports from the ledger (JSON, or CSV).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tenant_app, name="tenant")
app.add_typer(client_app, name="client")
app.add_typer(campaign_app, name="campaign")
app.add_typer(user_app, name="user")
app.add_typer(report_app, name="report")

err = Console(stderr=True)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8080,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
    worker: Annotated[
        bool, typer.Option(help="Run the built-in worker in the server (--no-worker: apart)")
    ] = True,
) -> None:
    """Serve the HTTP API (all faces) with uvicorn."""
    import os

    if not worker:  # read by each uvicorn worker's Settings (VOUCHERD_WORKER_EMBEDDED)
        os.environ["VOUCHERD_WORKER_EMBEDDED"] = "false"

    # uvicorn's own command replaces this process (same pid, so signals and supervisors are
    # unaffected): its supervisor then does not carry this CLI's imports (about 60 MB, see
    # docs/benchmarks.md) next to its workers, which import the app themselves.
    # -P: the current directory is not put on sys.path.
    argv = [
        sys.executable, "-P", "-m", "uvicorn", "voucherd.api.app:app_factory", "--factory",
        "--host", host, "--port", str(port), "--workers", str(workers),
        "--log-level", log_level, "--no-access-log", "--no-proxy-headers",
    ]  # fmt: skip
    # Metrics in multiprocess mode: every worker writes its own files, a scrape sums them.
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        import tempfile

        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="voucherd-metrics-")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, argv)  # noqa: S606


@app.command("worker")
def worker_command(database_url: DatabaseUrl = None) -> None:
    """Run the built-in worker apart from the servers (start those with serve --no-worker).

    Sweeps on a schedule, delivers webhooks and dialect callbacks from the outbox, runs long
    jobs. Start as many as you like: one is elected (docs/operations.md), the rest stand by.
    """
    import contextlib
    import signal

    from voucherd import logs
    from voucherd.services.worker import Runner

    settings = Settings()
    logs.configure(settings.log_level)
    with database(database_url or settings.database_url) as engine:
        runner = Runner(engine, settings, dialects.worker_parts(engine, settings.dialects))
        signal.signal(signal.SIGTERM, lambda *_: runner.request_stop())
        with contextlib.suppress(KeyboardInterrupt):
            runner.run_forever()


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None, revision: str = "heads") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    with database(database_url) as engine:
        migrate.upgrade(engine, revision)
    err.print(f"database at {engine.url.render_as_string(hide_password=True)} is up to date")


@tenant_app.command("create")
def tenant_create(
    name: Annotated[str, typer.Option(help="Tenant name")], database_url: DatabaseUrl = None
) -> None:
    """Create a tenant; prints JSON with its id."""
    with transaction(database_url) as uow:
        tenant_id = tenants.create_tenant(uow, name)
    print_json({"id": tenant_id, "name": name})


@client_app.command("create")
def client_create(
    tenant: Annotated[int, typer.Option(help="Tenant id")],
    name: Annotated[str, typer.Option(help="Client name")],
    scopes: Annotated[str, typer.Option(help="Space-separated scopes")] = " ".join(
        sorted(ALL_SCOPES)
    ),
    database_url: DatabaseUrl = None,
) -> None:
    """Create an API client; prints JSON with client_id and client_secret (shown once)."""
    try:
        scope_set = parse_scopes(scopes)
    except ValueError as exc:
        fail(str(exc))
    with transaction(database_url) as uow:
        created = tenants.create_client(uow, tenant, name, scope_set)
    print_json(
        {
            "client_id": created.client_id,
            "client_secret": created.client_secret,
            "tenant_id": tenant,
            "scopes": sorted(created.scopes),
        }
    )


@client_app.command("revoke")
def client_revoke(
    client_id: Annotated[str, typer.Option("--id", help="Client id")],
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke a client: it gets no new tokens (issued ones expire within their lifetime)."""
    with transaction(database_url) as uow:
        tenants.revoke_client(uow, client_id)
    print_json({"client_id": client_id, "revoked": True})


@user_app.command("create")
def user_create(
    tenant: Annotated[int, typer.Option(help="Tenant id")],
    email: Annotated[str, typer.Option(help="Login address (one user per address)")],
    role: Annotated[str, typer.Option(help="owner, manager, clerk or auditor")],
    password: Annotated[
        str | None,
        typer.Option(envvar="VOUCHERD_USER_PASSWORD", help="Default: a one-time one is printed"),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a dashboard user; prints JSON, with the generated password if none was given."""
    with transaction(database_url) as uow:
        tenants.get_tenant(uow, tenant)
        created = staff.create_user(uow, Actor(tenant, "cli"), email, role, password)
    shown: dict[str, object] = {
        "id": created.id,
        "tenant_id": created.tenant_id,
        "email": created.email,
        "role": created.role.value,
    }
    if created.password is not None:
        shown["password"] = created.password
    print_json(shown)


@app.command()
def verify(database_url: DatabaseUrl = None) -> None:
    """Check every ledger and state invariant across the whole database."""
    with database(database_url) as engine, engine.connect() as conn:
        count, entries, results = verify_service.run(conn)
    table = Table(title=f"voucherd verify: {count} vouchers, {entries} ledger entries")
    table.add_column("check")
    table.add_column("rule")
    table.add_column("result")
    for result in results:
        shown = "ok" if result.ok else f"FAILED: vouchers/entries {result.violations[:10]}"
        table.add_row(result.name, result.description, shown)
    Console().print(table)
    failed = [r for r in results if not r.ok]
    if failed:
        err.print(f"[red]{len(failed)} of {len(results)} checks failed[/red]")
        raise typer.Exit(1)
    err.print(f"all {len(results)} checks passed")


@app.command()
def sweep(database_url: DatabaseUrl = None) -> None:
    """Apply due time-based transitions: expiry, lapsed reservations, old idempotency keys."""
    expiring = [
        t for d, _ in dialects.load(Settings().dialects) for t in getattr(d, "EXPIRING", ())
    ]
    with database(database_url) as engine:
        result = sweep_service.run(engine, purge=expiring)
    print_json(
        {
            "purged": result.purged,
            "expired_vouchers": result.expired_vouchers,
            "expired_reservations": result.expired_reservations,
            "purged_idempotency_keys": result.purged_idempotency_keys,
        }
    )


@campaign_app.command("create")
def campaign_create(
    tenant: Annotated[int, typer.Option(help="Tenant id")],
    name: Annotated[str, typer.Option(help="Campaign name")],
    kind: Annotated[ValueKind, typer.Option(help="Value kind")] = ValueKind.STORED_VALUE,
    currency: Annotated[str | None, typer.Option(help="ISO 4217")] = None,
    amount: Annotated[int | None, typer.Option(help="Initial balance, minor units")] = None,
    discount_amount: Annotated[int | None, typer.Option(help="Fixed discount")] = None,
    discount_bps: Annotated[int | None, typer.Option(help="Percent discount in bp")] = None,
    validity_value: Annotated[int | None, typer.Option()] = None,
    validity_unit: Annotated[ValidityUnit | None, typer.Option()] = None,
    length: Annotated[int, typer.Option(help="Random characters per code")] = 12,
    charset: Annotated[str, typer.Option(help="Code alphabet")] = codes.UNAMBIGUOUS,
    prefix: Annotated[str, typer.Option()] = "",
    suffix: Annotated[str, typer.Option()] = "",
    pattern: Annotated[str | None, typer.Option(help="e.g. ####-####")] = None,
    check_char: Annotated[bool, typer.Option(help="Append a check character")] = False,
    active: Annotated[bool, typer.Option(help="Create vouchers active")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a campaign; prints JSON with its id and key."""
    with transaction(database_url) as uow:
        row = campaigns.create(
            uow,
            Actor(tenant, "cli"),
            name=name,
            template=NewVoucher(
                kind=kind,
                currency=currency,
                amount=amount,
                discount_amount=discount_amount,
                discount_bps=discount_bps,
                validity_value=validity_value,
                validity_unit=validity_unit,
            ),
            code_spec=codes.CodeSpec(
                charset=charset,
                length=length,
                prefix=prefix,
                suffix=suffix,
                pattern=pattern,
                check_char=check_char,
            ),
            activate_on_create=active,
        )
    print_json({"id": row["id"], "key": row["key"], "name": name})


@campaign_app.command("generate")
def campaign_generate(
    tenant: Annotated[int, typer.Option(help="Tenant id")],
    campaign: Annotated[int, typer.Option(help="Campaign id")],
    count: Annotated[int, typer.Option(help="How many vouchers")],
    database_url: DatabaseUrl = None,
) -> None:
    """Generate COUNT vouchers with random codes in one transaction, with a progress bar."""
    columns = (TextColumn("generating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with transaction(database_url) as uow, Progress(*columns, console=err) as progress:
        task = progress.add_task("codes", total=count)
        created = campaigns.generate(
            uow,
            Actor(tenant, "cli"),
            campaign,
            count,
            progress=lambda n: progress.advance(task, n),
        )
    print_json({"campaign_id": campaign, "created": created})


def _report(
    name: str,
    tenant: int,
    params: reports.Params,
    csv: bool,
    database_url: str | None,
) -> None:
    with database(database_url) as engine, UnitOfWork(engine, readonly=True) as uow:
        tenants.get_tenant(uow, tenant)
        rows = reports.run(uow, Actor(tenant, "cli"), name, params)
    _report_fn, columns = reports.REPORTS[name]
    if csv:
        sys.stdout.write(csvout.text(columns, (dataclasses.astuple(r) for r in rows)))
    else:
        print_json({"report": name, "rows": [dataclasses.asdict(r) for r in rows]})


TenantOption = Annotated[int, typer.Option(help="Tenant id")]
AsOf = Annotated[str | None, typer.Option(help="Date or date-time (a date: its end, UTC)")]
Since = Annotated[str | None, typer.Option(help="From this date or date-time")]
Until = Annotated[str | None, typer.Option(help="To this date or date-time (inclusive)")]
PeriodOption = Annotated[reports.Period, typer.Option(help="Group by")]
CsvOption = Annotated[bool, typer.Option("--csv", help="CSV instead of JSON")]


def _moment(text: str | None, field: str) -> datetime | None:
    try:
        return reports.parse_moment(text, field)
    except VoucherdError as exc:
        fail(exc)


@report_app.command("liability")
def report_liability(
    tenant: TenantOption,
    as_of: AsOf = None,
    csv: CsvOption = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Outstanding balance by currency and campaign, as of a moment (default now)."""
    _report("liability", tenant, reports.Params(as_of=_moment(as_of, "as_of")), csv, database_url)


@report_app.command("aging")
def report_aging(
    tenant: TenantOption,
    as_of: AsOf = None,
    csv: CsvOption = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Outstanding balance by days since issue (0-30, 31-90, 91-180, 181-365, >365)."""
    _report("aging", tenant, reports.Params(as_of=_moment(as_of, "as_of")), csv, database_url)


@report_app.command("breakage")
def report_breakage(
    tenant: TenantOption,
    since: Since = None,
    until: Until = None,
    period: PeriodOption = reports.Period.MONTH,
    csv: CsvOption = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Value that expired unused, per period."""
    params = reports.Params(
        since=_moment(since, "since"), until=_moment(until, "until"), period=period
    )
    _report("breakage", tenant, params, csv, database_url)


@report_app.command("redemptions")
def report_redemptions(
    tenant: TenantOption,
    since: Since = None,
    until: Until = None,
    period: PeriodOption = reports.Period.MONTH,
    csv: CsvOption = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Charges (and refunds of charges) per period and currency."""
    params = reports.Params(
        since=_moment(since, "since"), until=_moment(until, "until"), period=period
    )
    _report("redemptions", tenant, params, csv, database_url)


@app.command()
def bootstrap(database_url: DatabaseUrl = None) -> None:
    """Migrate, and create a demo tenant with an all-scopes client if there is no client yet."""
    with database(database_url) as engine:
        migrate.upgrade(engine)
        with UnitOfWork(engine) as uow:
            if uow.conn.execute(select(func.count()).select_from(clients)).scalar_one():
                names = uow.conn.execute(select(tenants_table.c.id, tenants_table.c.name)).all()
                err.print(
                    f"database already has clients (tenants: {[tuple(n) for n in names]});"
                    " create more with `voucherd client create`"
                )
                return
            tenant_id = tenants.create_tenant(uow, "Demo merchant")
            created = tenants.create_client(uow, tenant_id, "demo", ALL_SCOPES)
            uow.commit()
    base = "http://127.0.0.1:8080"
    err.print(f"""[bold]Demo tenant {tenant_id} and client created.[/bold]
  client_id:     {created.client_id}
  client_secret: {created.client_secret}   (shown once; stored hashed)

Try it:
  TOKEN=$(curl -s -u {created.client_id}:{created.client_secret} \\
      -d grant_type=client_credentials {base}/oauth/token \\
      | python3 -c 'import sys,json;print(json.load(sys.stdin)["access_token"])')
  curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
      -d '{{"kind":"stored_value","currency":"EUR","amount":5000,"active":true}}' {base}/v1/vouchers
  API docs: {base}/docs   OpenAPI: {base}/openapi.json
""")


def main() -> None:
    for dialect, command in dialects.load(Settings().dialects):
        if hasattr(dialect, "cli"):
            app.add_typer(dialect.cli, name=command)
    app()


if __name__ == "__main__":
    main()
