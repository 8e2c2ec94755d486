"""`gateway sandbox`: the click command the CLI group registers (ARCHITECTURE §11)."""

from core.sandbox.serve import sandbox

__all__ = ["sandbox"]
