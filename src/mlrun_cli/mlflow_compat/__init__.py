"""MLflow's REST API over the TrackingStore: unchanged MLflow code records into mlrun runs.

``handlers`` are plain functions (Request -> Response, over the TrackingStore protocol), so the
loopback endpoint of ``mlrun run`` (``loopback``, standard library only) and a team server can
mount the same code. No HTTP framework is imported here.
"""
