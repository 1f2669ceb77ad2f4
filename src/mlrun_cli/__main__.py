"""``python -m mlrun_cli``: the same as the ``mlrun`` command."""

from __future__ import annotations

from mlrun_cli.cli.app import main

if __name__ == "__main__":
    main()
