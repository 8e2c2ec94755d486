"""0800_refunds: The refund guard (SQL in 0800_refunds.sql)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.storage.migrate import RawSql

ID = "0800_refunds"
VERSION = "1.38.0"
DESCRIPTION = "The refund guard"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="gateway", description=DESCRIPTION)
    manager.add_raw(RawSql.of(__file__, "0800_refunds.sql"))
    return manager
