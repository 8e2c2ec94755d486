"""0910_dashboard_team: Dashboard team roles, disabled users, password links (SQL in 0910_dashboard_team.sql)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.storage.migrate import RawSql

ID = "0910_dashboard_team"
VERSION = "1.38.0"
DESCRIPTION = "Dashboard team roles, disabled users, password links"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="gateway", description=DESCRIPTION)
    manager.add_raw(RawSql.of(__file__, "0910_dashboard_team.sql"))
    return manager
