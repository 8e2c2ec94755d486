"""0700_dashboard: Dashboard users (SQL in 0700_dashboard.sql)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.storage.migrate import RawSql

ID = "0700_dashboard"
VERSION = "1.38.0"
DESCRIPTION = "Dashboard users"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="gateway", description=DESCRIPTION)
    manager.add_raw(RawSql.of(__file__, "0700_dashboard.sql"))
    return manager
