from __future__ import annotations

from typing import TYPE_CHECKING

from mlrun_cli.tracking.queries import experiment_ids_for

if TYPE_CHECKING:
    from pathlib import Path


def test_every_active_experiment_is_listed_locally_and_left_to_a_server(tmp_path: Path) -> None:
    from mlrun_cli.tracking.store import open_store

    store = open_store(str(tmp_path / "s"))
    store.create_experiment("wine")
    assert experiment_ids_for(store, [], []) == ["0", "1"]

    class Server:
        """A store that runs searches itself (as the team server's client does)."""

        def search_runs_page(self) -> None:
            raise AssertionError

        def search_experiments(self, view: str) -> list[object]:
            raise AssertionError("one round trip more")

    assert experiment_ids_for(Server(), [], []) == []  # type: ignore[arg-type]
