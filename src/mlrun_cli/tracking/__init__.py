"""Tracking: the run store, its search, the in-run client and event ingestion."""
