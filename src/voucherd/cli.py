"""The ``voucherd`` command: serve, migrate, administer, verify and sweep."""

from __future__ import annotations

import dataclasses
import os
import shlex
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select

from voucherd import __version__, cli_csv, dialects
from voucherd.config import Settings
from voucherd.db import migrate, revisions
from voucherd.db.engine import make_engine
from voucherd.db.tables import clients
from voucherd.db.tables import tenants as tenants_table
from voucherd.domain import codes
from voucherd.domain.errors import VoucherdError
from voucherd.domain.scopes import ALL_SCOPES, parse_scopes
from voucherd.domain.vouchers import ValidityUnit, ValueKind
from voucherd.faces import csvout
from voucherd.faces.cli import DatabaseUrl, database, fail, kek, print_json, transaction
from voucherd.services import campaigns, keys, pin_lockouts, reports, staff, tenants
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
keys_app = typer.Typer(
    help="Access-token signing keys (JWT kid); resealing under a new key-encryption key.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")
app.add_typer(tenant_app, name="tenant")
app.add_typer(client_app, name="client")
app.add_typer(campaign_app, name="campaign")
app.add_typer(user_app, name="user")
app.add_typer(report_app, name="report")
app.add_typer(keys_app, name="keys")
voucher_app = typer.Typer(help="Single vouchers (operator actions).", no_args_is_help=True)
app.add_typer(voucher_app, name="voucher")
app.add_typer(cli_csv.export_app, name="export")  # CSV out and in (issue 12)
app.add_typer(cli_csv.import_app, name="import")

err = Console(stderr=True)


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"voucherd {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit"
        ),
    ] = False,
) -> None:
    """voucherd: a self-hosted voucher and gift-card service."""


def _schema_branches() -> list[str]:
    """The migration branches this build expects besides the core: the enabled dialects'."""
    return [module.__name__.rsplit(".", 1)[-1] for module, _ in dialects.load(Settings().dialects)]


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8080,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
    database_url: DatabaseUrl = None,
    proxy_headers: Annotated[
        bool,
        typer.Option(
            help="Behind a reverse proxy: take the client address and scheme from"
            " X-Forwarded-For and X-Forwarded-Proto, from the --forwarded-allow-ips peers only"
        ),
    ] = False,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            envvar="FORWARDED_ALLOW_IPS",
            help="Comma-separated proxy addresses or networks trusted with --proxy-headers,"
            " '*' for any (default 127.0.0.1)",
        ),
    ] = None,
    worker: Annotated[
        bool, typer.Option(help="Run the built-in worker in the server (--no-worker: apart)")
    ] = True,
) -> None:
    """Serve the HTTP API (all faces) with uvicorn, once the database is migrated."""
    if not worker:  # read by each uvicorn worker's Settings (VOUCHERD_WORKER_EMBEDDED)
        os.environ["VOUCHERD_WORKER_EMBEDDED"] = "false"
    if database_url:
        # The workers read their settings from the environment; the option wins over it.
        os.environ["VOUCHERD_DATABASE_URL"] = database_url
    settings = Settings()
    engine = make_engine(database_url or settings.database_url)
    try:  # the same check as the app's startup, here to say it in one line and exit
        refusal = revisions.refusal(
            engine, _schema_branches(), needs_answer=settings.secret_key is None
        )
    finally:
        engine.dispose()
    if refusal is not None:
        fail(refusal)
    kek(database_url)  # no key-encryption key: one line and exit 2, before uvicorn starts
    # On SQLite several workers queue their writes on one lock per database file, in-process
    # and across processes (db/engine.py ``FileWriteLock``), never in SQLite's busy handler.
    # uvicorn's own command replaces this process (same pid, so signals and supervisors are
    # unaffected): its supervisor then does not carry this CLI's imports (about 60 MB, see
    # docs/benchmarks.md) next to its workers, which import the app themselves.
    # -P: the current directory is not put on sys.path. --ws none: no face speaks WebSocket, so
    # the workers do not load a WebSocket protocol (~0.8 MB each; docs/benchmarks.md, "Session 5:
    # server memory"); an upgrade request is answered as plain HTTP.
    argv = [
        sys.executable, "-P", "-m", "uvicorn", "voucherd.api.app:app_factory", "--factory",
        "--host", host, "--port", str(port), "--workers", str(workers),
        "--log-level", log_level, "--no-access-log", "--ws", "none",
        "--proxy-headers" if proxy_headers else "--no-proxy-headers",
    ]  # fmt: skip
    if forwarded_allow_ips is not None:
        argv += ["--forwarded-allow-ips", forwarded_allow_ips]
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
    where = engine.url.render_as_string(hide_password=True)
    sys.stderr.write(f"database at {where} is up to date\n")  # one line, never wrapped


def _schema_status(database_url: str | None) -> revisions.SchemaStatus:
    with database(database_url) as engine:  # one line if the database does not answer
        return revisions.check(engine, _schema_branches())


@db_app.command("current")
def db_current(database_url: DatabaseUrl = None) -> None:
    """Print JSON: the database's revisions, the expected heads, what is missing or unknown."""
    print_json(_schema_status(database_url).as_dict())


@db_app.command("check")
def db_check(database_url: DatabaseUrl = None) -> None:
    """Like ``db current``; exit 1 unless the database is at every expected head."""
    schema = _schema_status(database_url)
    print_json(schema.as_dict())
    if schema.missing:
        sys.stderr.write("not at the expected heads: run `voucherd db upgrade`\n")
    if schema.unknown:
        sys.stderr.write("the database has revisions this build does not know\n")
    if not schema.at_heads:
        raise typer.Exit(1)


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
    """Revoke a client: it gets no new tokens, and every face refuses the ones it holds within
    a few seconds (each server process reads revoked clients about once a second)."""
    with transaction(database_url) as uow:
        tenants.revoke_client(uow, client_id)
    print_json({"client_id": client_id, "revoked": True})


@voucher_app.command("unlock-pin")
def voucher_unlock_pin(
    tenant: Annotated[int, typer.Option(help="Tenant id")],
    voucher_id: Annotated[str, typer.Option("--id", help="The voucher's public id")],
    database_url: DatabaseUrl = None,
) -> None:
    """Clear a voucher's PIN lockout (too many wrong PINs in a row); records an event."""
    with transaction(database_url) as uow:
        try:
            was_locked = pin_lockouts.unlock(uow, Actor(tenant, "cli"), voucher_id)
        except VoucherdError as exc:
            fail(exc.message)
    print_json({"id": voucher_id, "was_locked": was_locked, "unlocked": True})


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
def verify(
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON")] = False,
) -> None:
    """Check every ledger and state invariant across the whole database; exit 1 if any fails."""
    with database(database_url) as engine, engine.connect() as conn:
        count, entries, results = verify_service.run(conn)
    failed = [r for r in results if not r.ok]
    if as_json:
        print_json(
            {
                "passed": not failed,
                "vouchers": count,
                "ledger_entries": entries,
                "checks": [
                    {
                        "name": r.name,
                        "rule": r.description,
                        "ok": r.ok,
                        "violations": r.violations,
                    }
                    for r in results
                ],
            }
        )
    else:
        table = Table(title=f"voucherd verify: {count} vouchers, {entries} ledger entries")
        table.add_column("check")
        table.add_column("rule")
        table.add_column("result")
        for result in results:
            shown = "ok" if result.ok else f"FAILED: vouchers/entries {result.violations[:10]}"
            table.add_row(result.name, result.description, shown)
        Console().print(table)
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
    pin_protected: Annotated[
        bool,
        typer.Option(help="PIN-protected printed stock: codes may give under 40 bits"),
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a campaign; prints JSON with its id and key."""
    template = NewVoucher(
        kind=kind,
        currency=currency,
        amount=amount,
        discount_amount=discount_amount,
        discount_bps=discount_bps,
        validity_value=validity_value,
        validity_unit=validity_unit,
    )
    with transaction(database_url) as uow:
        try:
            spec = codes.CodeSpec(
                charset=charset,
                length=length,
                prefix=prefix,
                suffix=suffix,
                pattern=pattern,
                check_char=check_char,
            )
            row = campaigns.create(
                uow,
                Actor(tenant, "cli"),
                name=name,
                template=template,
                code_spec=spec,
                activate_on_create=active,
                pin_protected=pin_protected,
            )
        except VoucherdError as exc:
            fail(exc)
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


DEMO_ENV = Path("voucherd-demo.env")
DEMO_OWNER = "owner@demo.example"  # the demo dashboard login `bootstrap` creates


def _write_private(path: Path, text: str) -> None:
    """Write TEXT to PATH readable by its owner only (0600, also when PATH existed)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(text)


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


def _per_period(since: str | None, until: str | None, period: reports.Period) -> reports.Params:
    """The parameters of the per-period reports (breakage, redemptions, flow)."""
    return reports.Params(
        since=_moment(since, "since"), until=_moment(until, "until"), period=period
    )


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
    _report("breakage", tenant, _per_period(since, until, period), csv, database_url)


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
    _report("redemptions", tenant, _per_period(since, until, period), csv, database_url)


@report_app.command("flow")
def report_flow(
    tenant: TenantOption,
    since: Since = None,
    until: Until = None,
    period: PeriodOption = reports.Period.DAY,
    csv: CsvOption = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Value issued (issue, recharge) and redeemed (charges) per period and currency."""
    _report("flow", tenant, _per_period(since, until, period), csv, database_url)


# --- signing keys (issue 10) -------------------------------------------------------------------


@keys_app.command("rotate")
def keys_rotate(database_url: DatabaseUrl = None) -> None:
    """Add a signing key: new tokens carry its kid (every server within a few seconds); tokens
    signed with the older keys keep verifying until they expire."""
    sealing = kek(database_url)
    with database(database_url) as engine:
        kid = keys.rotate(engine, sealing)
    print_json({"kid": kid})


@keys_app.command("list")
def keys_list(database_url: DatabaseUrl = None) -> None:
    """The signing keys, newest first (ids and dates, never the keys)."""
    with database(database_url) as engine:
        print_json(keys.listing(engine))


@keys_app.command("revoke")
def keys_revoke(
    kid: Annotated[str, typer.Option("--kid", help="Key id")], database_url: DatabaseUrl = None
) -> None:
    """End a (leaked) key at once: every token it signed is refused within a few seconds."""
    with database(database_url) as engine:
        keys.revoke(engine, kid)
    print_json({"kid": kid, "revoked": True})


@keys_app.command("reseal")
def keys_reseal(database_url: DatabaseUrl = None) -> None:
    """Finish a change of key-encryption key: seal every stored secret under the key in
    VOUCHERD_SECRET_KEY(_FILE), reading it under that key or VOUCHERD_PREVIOUS_SECRET_KEY(_FILE).
    All or nothing; safe to run again."""
    sealing = kek(database_url)
    with database(database_url) as engine:
        try:
            done = keys.reseal(engine, sealing)
        except keys.Unreadable as exc:
            fail(f"{exc}; nothing was changed: " + ", ".join(exc.places))
    print_json({"resealed": done.resealed, "already_current": done.current})


@app.command()
def bootstrap(
    database_url: DatabaseUrl = None,
    env_file: Annotated[
        Path, typer.Option(help="Where the demo credentials go, as export lines (mode 0600)")
    ] = DEMO_ENV,
    url: Annotated[str, typer.Option(help="The server's address, for the printed hints")] = (
        "http://127.0.0.1:8080"
    ),
) -> None:
    """Migrate, and create a demo tenant with an all-scopes client and a dashboard owner
    (DEMO_OWNER, with a generated password) if there is no client yet.

    The client's credentials are printed once and written to ENV_FILE as ``export`` lines, so
    ``. ./voucherd-demo.env`` gives a shell VOUCHERD_CLIENT_ID and VOUCHERD_CLIENT_SECRET (the
    README's "A first voucher" does that). Output is plain lines, never wrapped.
    """
    out = sys.stdout
    with database(database_url) as engine:
        migrate.upgrade(engine)
        with UnitOfWork(engine) as uow:
            if uow.conn.execute(select(func.count()).select_from(clients)).scalar_one():
                names = uow.conn.execute(select(tenants_table.c.id, tenants_table.c.name)).all()
                out.write(
                    f"database already has clients (tenants: {[tuple(n) for n in names]});"
                    " create more with `voucherd client create`\n"
                )
                if env_file.exists():
                    out.write(f"demo credentials (from the first bootstrap): {env_file}\n")
                return
            tenant_id = tenants.create_tenant(uow, "Demo merchant")
            created = tenants.create_client(uow, tenant_id, "demo", ALL_SCOPES)
            owner = staff.create_user(uow, Actor(tenant_id, "cli"), DEMO_OWNER, "owner")
            assert owner.password is not None  # generated: none was given
            _write_private(
                env_file,
                "# voucherd's demo client and dashboard owner, written by `voucherd bootstrap`\n"
                f"export VOUCHERD_CLIENT_ID={shlex.quote(created.client_id)}\n"
                f"export VOUCHERD_CLIENT_SECRET={shlex.quote(created.client_secret)}\n"
                f"export VOUCHERD_DASHBOARD_EMAIL={shlex.quote(owner.email)}\n"
                f"export VOUCHERD_DASHBOARD_PASSWORD={shlex.quote(owner.password)}\n",
            )
            uow.commit()
    # "./" so that the shell's "." reads this file, not one of that name on $PATH
    shown = str(env_file) if env_file.is_absolute() else f"./{env_file}"
    out.write(
        f"Demo tenant {tenant_id} and client created.\n"
        f"  client_id:     {created.client_id}\n"
        f"  client_secret: {created.client_secret}   (shown once; stored hashed)\n"
        f"Dashboard: {url}/dashboard/ (demo owner)\n"
        f"  login:         {owner.email}\n"
        f"  password:      {owner.password}   (shown once; stored hashed)\n"
        f"Written to {env_file} (mode 0600); in another shell, from this directory:\n"
        f"  . {shlex.quote(shown)}\n"
        'then paste README.md\'s "A first voucher".\n'
        f"API docs: {url}/docs   OpenAPI: {url}/openapi.json\n"
    )
    out.flush()


def main() -> None:
    for dialect, command in dialects.load(Settings().dialects):
        commands = dialects.commands(dialect)
        if commands is not None:
            app.add_typer(commands, name=command)
    app()


if __name__ == "__main__":
    main()
