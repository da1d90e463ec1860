"""The revision graph the server reads (db/migrations/revisions.json) is Alembic's answer for
the migrations as they are; a stale one is not used (db/revisions.py)."""

from __future__ import annotations

from pathlib import Path

from voucherd.db import migrate, revisions


def test_the_committed_snapshot_is_alembics_graph_of_the_migrations() -> None:
    written = revisions.snapshot()
    assert written is not None, "stale: run `python -m voucherd.db.migrate` and commit the file"
    assert written == migrate.graph()


def test_a_snapshot_of_other_migration_files_is_not_used(tmp_path: Path) -> None:
    graph = migrate.graph()
    stale = revisions.Graph("0" * 64, graph.lineage, graph.core_heads, graph.branch_heads)
    path = tmp_path / "revisions.json"
    path.write_text(stale.as_json())
    assert revisions.snapshot(path) is None
    path.write_text(graph.as_json())
    assert revisions.snapshot(path) == graph


def test_a_dialect_expects_its_branch_head_and_the_cores() -> None:
    graph = migrate.graph()
    (jtl_head,) = graph.branch_heads["jtl"]
    assert revisions.expected_heads(["jtl"]) == graph.core_heads | {jtl_head}
    assert revisions.expected_heads([]) == graph.core_heads
    # Every head of a branch stands on the core's first revision and on itself.
    for heads in graph.branch_heads.values():
        for head in heads:
            assert head in graph.lineage[head]
            assert graph.lineage[head] & {r for r, a in graph.lineage.items() if len(a) == 1}
