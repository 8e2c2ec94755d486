"""0200_ledger: The double-entry ledger and its append-only triggers (SQL in 0200_ledger.sql)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.storage.migrate import RawSql

ID = "0200_ledger"
VERSION = "1.38.0"
DESCRIPTION = "The double-entry ledger and its append-only triggers"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="gateway", description=DESCRIPTION)
    manager.add_raw(RawSql.of(__file__, "0200_ledger.sql"))
    return manager
