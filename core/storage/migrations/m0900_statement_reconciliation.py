"""0900_statement_reconciliation: three-way reconciliation results per PLE and day
(SQL in 0900_statement_reconciliation.sql)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from core.storage.migrate import RawSql

ID = "0900_statement_reconciliation"
VERSION = "1.38.0"
DESCRIPTION = "Three-way reconciliation results per PLE and day"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="gateway", description=DESCRIPTION)
    manager.add_raw(RawSql.of(__file__, "0900_statement_reconciliation.sql"))
    return manager
