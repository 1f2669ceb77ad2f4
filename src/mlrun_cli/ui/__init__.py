"""The web UI (extra ``mlrun-cli[ui]``): server-rendered pages over any TrackingStore.

``create_app(open_store)`` in :mod:`mlrun_cli.ui.app` is the entry point; nothing in the core
imports this package.
"""
