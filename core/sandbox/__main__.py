"""`python -m core.sandbox --port P --callback-url URL --secret S ...` (see docs/sandbox.md)."""

from core.sandbox.serve import sandbox

if __name__ == "__main__":
    sandbox(prog_name="python -m core.sandbox")
