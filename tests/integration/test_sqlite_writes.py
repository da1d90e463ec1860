"""SQLite: writers of one process queue on a lock, not in SQLite's busy handler (issue 13).

The lock is taken before ``BEGIN IMMEDIATE`` and released by ``COMMIT``/``ROLLBACK``
(``db/engine.py``); ``serve`` runs one process on SQLite so that every writer queues there.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, text

from tests.conftest import TenantFixture
from tests.ports import free_port
from tests.support import clean_env, voucherd_serve, wait_until_serving
from voucherd.db.engine import SerialisedWrites, make_engine
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


def _writer_lock(engine: Engine) -> threading.Lock:
    with engine.connect() as conn:
        dbapi = conn.connection.dbapi_connection
        assert isinstance(dbapi, SerialisedWrites)
        return dbapi.writer


def test_a_write_transaction_holds_the_lock_until_commit_or_rollback(tmp_path: Path) -> None:
    # A file of its own: the lock is per file and process, and the session's database is
    # shared with servers whose background workers write at any moment.
    engine = make_engine(f"sqlite:///{tmp_path / 'own.db'}")
    try:
        lock = _writer_lock(engine)
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


def test_serve_runs_one_process_on_sqlite(
    sqlite_engine: Engine, database_url: str, tmp_path: Path
) -> None:
    env = clean_env(VOUCHERD_SECRET_KEY="one-process-key")
    args = ["--database-url", database_url, "--workers", "2"]
    with voucherd_serve(args, free_port(40), env, tmp_path, tmp_path / "serve.log") as server:
        wait_until_serving(server)
        output = server.output()
    assert "SQLite is served by one process (--workers 2 ignored)" in output
    assert output.count("Started server process") == 1
