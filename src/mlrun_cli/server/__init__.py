"""The team tracking server (``mlrun server``, extra ``mlrun-cli[server]``).

An ASGI app (Starlette on uvicorn) over one TrackingStore: our batch-first API under
``/api/v1``, MLflow's REST API at MLflow's paths (the same handlers the loopback endpoint of
``mlrun run`` mounts), health and version. Only ``mlrun server`` imports this package.
"""
