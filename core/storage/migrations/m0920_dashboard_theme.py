"""0920_dashboard_theme: a dashboard user's colour theme (SQL in 0920_dashboard_theme.sql)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.storage.migrate import RawSql

ID = "0920_dashboard_theme"
VERSION = "1.38.0"
DESCRIPTION = "A dashboard user's colour theme"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="gateway", description=DESCRIPTION)
    manager.add_raw(RawSql.of(__file__, "0920_dashboard_theme.sql"))
    return manager
