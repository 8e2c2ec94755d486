"""0100_security: Merchants, API keys, admin tokens (SQL in 0100_security.sql)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.storage.migrate import RawSql

ID = "0100_security"
VERSION = "1.38.0"
DESCRIPTION = "Merchants, API keys, admin tokens"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="gateway", description=DESCRIPTION)
    manager.add_raw(RawSql.of(__file__, "0100_security.sql"))
    return manager
