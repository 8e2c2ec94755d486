"""The Piccolo migrations of the `gateway` app (core/storage/piccolo_app.py), applied by
`gateway migrate` (core/storage/migrate.py) in ID order. Each module is Piccolo's format (`ID`,
`forwards()` returning a `MigrationManager`); the first ones carry the schema's SQL files through
`add_raw`, because CHECK constraints, partial indexes and the ledger's triggers are PostgreSQL
that Piccolo's operations cannot express (docs/decisions.md, "Storage handles").
"""
