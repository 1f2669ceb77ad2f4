"""Where a server keeps artifact bytes: a local folder, or S3 (``--artifacts-destination``).

Clients never talk to the destination: they upload through the server (proxied), so they need
no S3 credentials. The server's folder for a run (``artifact_root/<run_id>``) is where it
receives files; a remote destination gets each one as it arrives, and gives back on demand
the ones the folder does not have (another server host, or a rebuilt one): ``served.py``.
Everyone reads a run's files through ``TrackingStore.artifacts`` (``run.py``).
"""
