"""0300_providers: PLEs and merchant routes (SQL in 0300_providers.sql)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.storage.migrate import RawSql

ID = "0300_providers"
VERSION = "1.38.0"
DESCRIPTION = "PLEs and merchant routes"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="gateway", description=DESCRIPTION)
    manager.add_raw(RawSql.of(__file__, "0300_providers.sql"))
    return manager
