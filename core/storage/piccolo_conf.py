"""Piccolo's engine for the whole process, built from DATABASE_URL (PICCOLO_CONF points here)."""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

from core.config import load_settings

DB = PostgresEngine(config={"dsn": load_settings().database_url}, log_queries=False)
APP_REGISTRY = AppRegistry(apps=[])
