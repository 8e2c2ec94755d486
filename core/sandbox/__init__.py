"""The sandbox PSP simulator (ARCHITECTURE §5; docs/sandbox.md): a real HTTP server with its own
in-memory state whose outcomes are chosen by `amount % 100`, like test card numbers."""
