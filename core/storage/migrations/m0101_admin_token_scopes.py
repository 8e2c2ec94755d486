"""0101_admin_token_scopes: Admin token scopes and expiry (SQL in 0101_admin_token_scopes.sql)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.storage.migrate import RawSql

ID = "0101_admin_token_scopes"
VERSION = "1.38.0"
DESCRIPTION = "Admin token scopes and expiry"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="gateway", description=DESCRIPTION)
    manager.add_raw(RawSql.of(__file__, "0101_admin_token_scopes.sql"))
    return manager
