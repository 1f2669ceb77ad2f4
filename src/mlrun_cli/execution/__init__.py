"""Running the entry point: child processes and the ordered steps of a run."""
