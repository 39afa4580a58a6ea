"""Plumbing every emulator shares: the background uvicorn server, seeded-fault helpers, the request
log's body replay and the ``python -m emulators.X`` argument parsing. Tracker shapes stay in each
tracker's package."""
