"""TrackingStore implementations beyond the default SQLite file: ``rest`` (a team server)."""
