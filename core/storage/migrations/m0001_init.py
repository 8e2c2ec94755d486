"""0001_init: Baseline: gateway_meta (SQL in 0001_init.sql)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.storage.migrate import RawSql

ID = "0001_init"
VERSION = "1.38.0"
DESCRIPTION = "Baseline: gateway_meta"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="gateway", description=DESCRIPTION)
    manager.add_raw(RawSql.of(__file__, "0001_init.sql"))
    return manager
