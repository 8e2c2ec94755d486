"""0102_audit_chain_keys: Audit chain HMAC keys and anchors (SQL in 0102_audit_chain_keys.sql)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.storage.migrate import RawSql

ID = "0102_audit_chain_keys"
VERSION = "1.38.0"
DESCRIPTION = "Audit chain HMAC keys and anchors"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="gateway", description=DESCRIPTION)
    manager.add_raw(RawSql.of(__file__, "0102_audit_chain_keys.sql"))
    return manager
