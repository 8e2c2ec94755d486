"""The restore drill (docs/operations.md) on this session's ledger: dump it, restore it into a
fresh database, and `gateway ledger verify` passes on the restored copy."""

from __future__ import annotations

import os
import subprocess

from core.storage.postgres import Database


async def test_restore_drill_verifies_the_restored_ledger(db: Database) -> None:
    entries = (await db.sql("SELECT count(*) AS n FROM journal_entries"))[0]["n"]
    assert entries > 0, "the session posted no ledger entries: the drill would prove nothing"
    result = subprocess.run(
        ["bash", "scripts/restore-drill.sh"], capture_output=True, text=True, timeout=300, env=os.environ
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert '"ok":true' in result.stdout.replace(" ", "") or '"ok":true' in result.stderr.replace(" ", "")
