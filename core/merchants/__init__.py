"""Merchants, their API keys and webhook secrets (PostgreSQL)."""
