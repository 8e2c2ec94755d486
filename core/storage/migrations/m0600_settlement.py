"""0600_settlement: Provider fee settlements (SQL in 0600_settlement.sql)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.storage.migrate import RawSql

ID = "0600_settlement"
VERSION = "1.38.0"
DESCRIPTION = "Provider fee settlements"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="gateway", description=DESCRIPTION)
    manager.add_raw(RawSql.of(__file__, "0600_settlement.sql"))
    return manager
