"""SQLite: writers queue on the file's write lock, not in SQLite's busy handler (issue 13).

The lock is taken before ``BEGIN IMMEDIATE`` and released by ``COMMIT``/``ROLLBACK``
(``db/engine.py``): a lock in the process, and an ``flock`` beside the database across serve's
worker processes.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import OperationalError

from tests.conftest import TEST_SECRET_KEY, Api, TenantFixture
from tests.ports import free_port
from tests.support import clean_env, voucherd_serve, wait_until_serving
from voucherd.db import engine as engine_module
from voucherd.db.engine import FileWriteLock, SerialisedWrites, make_engine
from voucherd.services import value
from voucherd.services import vouchers as voucher_service
from voucherd.services.changes import VoucherRef
from voucherd.services.unit_of_work import UnitOfWork
from voucherd.services.vouchers import NewVoucher


@pytest.fixture
def sqlite_engine(engine: Engine) -> Engine:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's single writer only")
    return engine


def _writer_lock(engine: Engine) -> FileWriteLock:
    with engine.connect() as conn:
        dbapi = conn.connection.dbapi_connection
        assert isinstance(dbapi, SerialisedWrites)
        return dbapi.writer


def test_a_write_transaction_holds_the_lock_until_commit_or_rollback(tmp_path: Path) -> None:
    # A file of its own: the lock is per file and process, and the session's database is
    # shared with servers whose background workers write at any moment.
    engine = make_engine(f"sqlite:///{tmp_path / 'own.db'}")
    try:
        lock = _writer_lock(engine).local
        assert not lock.locked()
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
            assert lock.locked()
        assert not lock.locked()
        with pytest.raises(ZeroDivisionError), engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
            assert lock.locked()
            raise ZeroDivisionError
        assert not lock.locked()
        # A reading unit (BEGIN DEFERRED) never waits for writers.
        with UnitOfWork(engine, readonly=True) as uow:
            assert uow.conn.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
            assert not lock.locked()
        with UnitOfWork(engine) as uow:
            assert lock.locked()
        assert not lock.locked()
    finally:
        engine.dispose()


def test_concurrent_writers_succeed_without_the_busy_handler(
    sqlite_engine: Engine, tenant: TenantFixture
) -> None:
    # A second engine on the same file whose connections may not wait in SQLite at all
    # (busy_timeout 0): a writer that met another one in SQLite would fail "database is
    # locked" at once. All of them succeed, so they queued on the lock.
    url = sqlite_engine.url.render_as_string(hide_password=False)
    impatient = make_engine(url)
    # After the engine's own "connect" listener, which sets 30 s.
    event.listen(impatient, "connect", lambda dbapi, _r: dbapi.execute("PRAGMA busy_timeout=0"))
    try:
        with UnitOfWork(impatient) as uow:
            spec = NewVoucher(currency="EUR", amount=10_000, active=True)
            voucher = voucher_service.create(uow, tenant.actor, spec).voucher
            uow.commit()
        failures: list[BaseException] = []
        start = threading.Barrier(8)

        def charge() -> None:
            try:
                start.wait()
                for _ in range(10):
                    with UnitOfWork(impatient) as uow:
                        value.charge(
                            uow,
                            tenant.actor,
                            VoucherRef(public_id=voucher["public_id"]),
                            amount=1,
                            currency="EUR",
                        )
                        uow.commit()
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=charge) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        with UnitOfWork(impatient, readonly=True) as uow:
            balance = uow.conn.execute(
                text("SELECT balance FROM vouchers WHERE id = :id"), {"id": voucher["id"]}
            ).scalar_one()
        assert balance == 10_000 - 80
    finally:
        impatient.dispose()


def _hold_a_write(url: str) -> subprocess.Popen[str]:
    """Another process in a write transaction on ``url`` until its stdin gets a line."""
    script = (
        "import sys\n"
        "from voucherd.db.engine import make_engine\n"
        "from voucherd.services.unit_of_work import UnitOfWork\n"
        f"engine = make_engine({url!r})\n"
        "with UnitOfWork(engine) as uow:\n"
        "    print('held', flush=True)\n"
        "    sys.stdin.readline()\n"
        "    uow.commit()\n"
        "print('done', flush=True)\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    return holder


def test_writers_of_other_processes_queue_on_the_files_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "shared.db"
    url = f"sqlite:///{database}"
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        holder = _hold_a_write(url)
        try:
            # The other process holds the file's lock (an flock beside the database) ...
            with open(f"{database}.write-lock", "a+b") as probe, pytest.raises(BlockingIOError):
                fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            # ... so a writer here waits on it, and gives up after the write wait.
            monkeypatch.setattr(engine_module, "SQLITE_WRITE_WAIT_SECONDS", 0.3)
            with (
                pytest.raises(OperationalError, match="database is locked"),
                UnitOfWork(engine),
            ):
                pass
            assert not _writer_lock(engine).local.locked()
        finally:
            assert holder.stdin is not None and holder.stdout is not None
            holder.stdin.write("\n")
            holder.stdin.flush()
            assert holder.stdout.readline().strip() == "done"
            holder.wait(timeout=30)
        # Released with the other's commit: this process writes at once.
        with UnitOfWork(engine) as uow:
            uow.conn.execute(text("INSERT INTO t VALUES (1)"))
            uow.commit()
        with open(f"{database}.write-lock", "a+b") as probe:
            fcntl.flock(probe.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again
            fcntl.flock(probe.fileno(), fcntl.LOCK_UN)
    finally:
        engine.dispose()


def test_serve_runs_its_workers_on_sqlite_and_their_charges_add_up(
    sqlite_engine: Engine, database_url: str, tenant: TenantFixture, tmp_path: Path
) -> None:
    with UnitOfWork(sqlite_engine) as uow:
        spec = NewVoucher(currency="EUR", amount=10_000, active=True)
        voucher = voucher_service.create(uow, tenant.actor, spec).voucher
        uow.commit()
    env = clean_env(VOUCHERD_SECRET_KEY=TEST_SECRET_KEY)
    args = ["--database-url", database_url, "--workers", "2", "--no-worker"]
    with voucherd_serve(args, free_port(40), env, tmp_path, tmp_path / "serve.log") as server:
        wait_until_serving(server)
        deadline = time.monotonic() + 60
        while server.output().count("Started server process") < 2:  # both workers up
            assert time.monotonic() < deadline, server.output()
            time.sleep(0.1)
        api = Api(server.url, tenant.client_id, tenant.client_secret)
        statuses: list[int] = []
        start = threading.Barrier(8)

        def charge() -> None:
            with httpx.Client(base_url=server.url, timeout=60) as http:
                start.wait()
                for _ in range(10):
                    response = http.post(
                        "/v1/charges",
                        json={"voucher_id": voucher["public_id"], "amount": 3, "currency": "EUR"},
                        headers={"Authorization": f"Bearer {api.token}"},
                    )
                    statuses.append(response.status_code)

        threads = [threading.Thread(target=charge) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        looked = api.get(f"/v1/vouchers/{voucher['public_id']}")
        api.close()
    assert statuses == [201] * 80
    assert looked.json()["balance"] == 10_000 - 240
