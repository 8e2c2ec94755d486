"""The `gateway` Piccolo app: its tables (core/storage/tables.py) and its migrations folder.

Migrations are applied by `gateway migrate` (core/storage/migrate.py), never by Piccolo's CLI: it
takes no advisory lock and would look for an engine through PICCOLO_CONF, which does not exist.
"""

from piccolo.conf.apps import AppConfig

from core.storage.migrate import APP_NAME, FOLDER
from core.storage.tables import TABLES

APP_CONFIG = AppConfig(
    app_name=APP_NAME,
    migrations_folder_path=str(FOLDER),
    table_classes=list(TABLES),
    migration_dependencies=[],
    commands=[],
)
