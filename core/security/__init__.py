"""Merchant identity and request security: encrypted secrets, signed requests, admin tokens."""
