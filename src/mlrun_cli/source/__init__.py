"""Where a project's code comes from: local folders (and, later, git URIs)."""
