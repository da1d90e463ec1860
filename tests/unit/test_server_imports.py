"""A server process loads what serving needs: the CLI stacks and the QR renderer stay out.

Every server worker carries every module it imports (docs/benchmarks.md, "Session 4": about
2 MB per worker for these); they are imported on first use instead.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
import sys
from pathlib import Path
from voucherd.api.app import create_app
from voucherd.config import Settings
create_app(Settings(database_url="sqlite:///" + sys.argv[1]))
print(" ".join(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_the_app_does_not_import_the_cli_stacks_or_the_qr_renderer(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, f"{tmp_path}/probe.db"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded = set(result.stdout.split())
    assert "fastapi" in loaded and "voucherd" in loaded  # the probe did build the app
    assert loaded.isdisjoint({"typer", "rich", "segno", "click"}), loaded & {
        "typer",
        "rich",
        "segno",
        "click",
    }


def test_every_dialect_still_gives_the_cli_its_commands() -> None:
    from voucherd import dialects

    loaded = dialects.load()
    assert len(loaded) == len(dialects.DIALECTS)
    for module, _command in loaded:
        assert type(dialects.commands(module)).__name__ == "Typer", module.__name__
