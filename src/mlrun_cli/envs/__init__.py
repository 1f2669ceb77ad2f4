"""Python environments a run executes in."""
