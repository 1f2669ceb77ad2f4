"""The UI's pages and fragments through Starlette's TestClient, over real SQLite stores."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mlrun_cli.tracking.models import EventBatch, Metric
from mlrun_cli.ui.app import create_app
from tests.ui.stores import Built, build


@pytest.fixture
def built(tmp_path: Path) -> Built:
    return build(tmp_path, runs=3)


@pytest.fixture
def client(built: Built) -> TestClient:
    return TestClient(create_app(built.open))


def test_experiments_list_counts_runs_and_filters_by_name_or_tag(
    client: TestClient, built: Built
) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "wine" in page.text
    wine = r'>wine</a></td>\s*<td class="num mono">\d+</td>\s*<td class="num">(\d+)<'
    row = re.search(wine, page.text)
    assert row
    assert row.group(1) == "3"
    store = built.open()
    store.set_experiment_tags(built.experiment_id, [("owner", "bob")])
    store.close()
    assert "wine" in client.get("/?q=owner%3Dbob").text
    fragment = client.get("/?q=nothing", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text
    assert "No experiment matches" in fragment.text


def test_runs_table_filters_sorts_and_pages_on_the_server(client: TestClient, built: Built) -> None:
    page = client.get(f"/runs?experiment={built.experiment_id}")
    assert page.status_code == 200
    assert all(run_id in page.text for run_id in built.run_ids)
    assert "rmse" in page.text
    assert "alpha" in page.text
    # The filter language of `runs search`, evaluated by the store.
    only = client.get("/runs", params={"experiment": built.experiment_id,
                                       "filter": "params.optimizer = 'adam'"})  # fmt: skip
    assert built.run_ids[1] in only.text
    assert built.run_ids[0] not in only.text
    assert built.run_ids[2] not in only.text
    # Sort by a metric, both ways.
    asc = client.get("/runs", params={"experiment": built.experiment_id, "order": "metric:rmse"})
    order = list(re.findall(r'data-run="([0-9a-f]+)"', asc.text))
    assert order == list(reversed(built.run_ids))  # later runs have lower rmse
    desc = client.get("/runs", params={"experiment": built.experiment_id, "order": "metric:rmse",
                                       "desc": "1"})  # fmt: skip
    assert re.findall(r'data-run="([0-9a-f]+)"', desc.text) == built.run_ids
    # Paging: one run per page, a next link, then the second page.
    first = client.get("/runs", params={"experiment": built.experiment_id, "size": "1",
                                        "order": "attr:run_name"})  # fmt: skip
    assert re.findall(r'data-run="([0-9a-f]+)"', first.text) == [built.run_ids[0]]
    assert "Next" in first.text
    second = client.get("/runs", params={"experiment": built.experiment_id, "size": "1",
                                         "order": "attr:run_name", "offset": "1"})  # fmt: skip
    assert re.findall(r'data-run="([0-9a-f]+)"', second.text) == [built.run_ids[1]]
    assert "Previous" in second.text


def test_column_picker_shows_only_the_chosen_columns(client: TestClient, built: Built) -> None:
    page = client.get("/runs", params={"experiment": built.experiment_id,
                                       "col": ["attr:run_name", "metric:loss"]})  # fmt: skip
    head = page.text.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert "loss" in head
    assert "rmse" not in head
    assert "alpha" not in head
    assert 'value="param:alpha" >' in page.text  # offered, unchecked


def test_a_bad_filter_shows_the_caret_message_inline(client: TestClient, built: Built) -> None:
    fragment = client.get(
        "/runs",
        params={"experiment": built.experiment_id, "filter": "metrics.rmse < 'x' and"},
        headers={"HX-Request": "true", "HX-Target": "runs"},
    )
    assert fragment.status_code == 200
    assert "<html" not in fragment.text  # only the table fragment is swapped
    assert 'role="alert"' in fragment.text
    caret = re.search(r"<pre>(.*)\n( *)\^</pre>", fragment.text)
    assert caret is not None
    assert caret.group(1) == "metrics.rmse &lt; &#39;x&#39; and"


def test_run_page_shows_the_whole_record(client: TestClient, built: Built) -> None:
    run_id = built.run_ids[0]
    page = client.get(f"/runs/{run_id}")
    assert page.status_code == 200
    text = page.text
    assert "FINISHED" in text
    assert "alpha" in text
    assert "adam" not in text.split("Parameters")[1][:300]
    assert f"mlrun reproduce {run_id} --verify" in text
    assert '<span class="add">+alpha = 0.5</span>' in text  # the dirty patch as a diff
    assert '<span class="del">-alpha = 0.1</span>' in text
    assert "epoch 2 loss 0.25" in text  # the output log
    assert "numpy" in text
    assert "1.25.2" in text
    assert "data/wine.csv" in text
    assert "model/metrics.json" in text
    assert "preds.csv" in text
    assert 'data-key="rmse"' in text
    assert 'data-key="loss"' in text
    assert client.get(f"/runs/{run_id[:8]}").status_code == 200  # a unique prefix works


def test_metric_histories_reach_the_browser_downsampled(tmp_path: Path) -> None:
    built = build(tmp_path, runs=2, steps=10_000)
    client = TestClient(create_app(built.open))
    data = client.get(f"/runs/{built.run_ids[0]}/metrics.json?width=400").json()
    steps = data["metrics"]["rmse"]["steps"]
    assert 0 < len(steps) <= 400  # 200 buckets, min and max each
    assert max(data["metrics"]["rmse"]["values"][:2]) == 1.0  # the first bucket keeps its max
    curves = client.get(
        "/compare/curves.json",
        params={"key": "loss", "width": "600", "runs": ",".join(built.run_ids)},
    ).json()
    assert curves["bucket_width"] == 10_000 / 300
    assert len(curves["x"]) == 300  # shared by both runs
    for series in curves["series"]:
        assert "x" not in series
        assert len(series["y"]) == len(series["hi"]) == 300
    assert max(curves["series"][0]["hi"]) == 2.0  # the spike at step 0 survives
    assert min(curves["series"][0]["y"]) == pytest.approx(2 / 10_000)
    small = client.get(f"/runs/{built.run_ids[0]}/metrics.json?width=100000").json()
    assert len(small["metrics"]["rmse"]["steps"]) <= 4000


def test_artifact_previews_and_downloads(client: TestClient, built: Built) -> None:
    run_id = built.run_ids[0]
    csv = client.get(f"/runs/{run_id}/files/preds.csv")
    assert "<th>yhat</th>" in csv.text
    assert "<td>1.9</td>" in csv.text
    js = client.get(f"/runs/{run_id}/files/model/metrics.json")
    assert "&lt;b&gt;bold&lt;/b&gt;" in js.text
    assert "<b>bold" not in js.text
    image = client.get(f"/runs/{run_id}/files/plot.png")
    assert f'src="/runs/{run_id}/raw/plot.png?inline=1"' in image.text
    assert (
        client.get(f"/runs/{run_id}/raw/plot.png?inline=1").headers["content-type"] == "image/png"
    )
    raw = client.get(f"/runs/{run_id}/raw/preds.csv")
    assert raw.content == b"y,yhat\n1,1.1\n2,1.9\n"
    assert "attachment" in raw.headers["content-disposition"]


@pytest.mark.parametrize(
    "path",
    ["../../mlrun.db", "..%2F..%2Fmlrun.db", "%2Fetc%2Fpasswd", "model/../../x", "a\\..\\b",
     "link/secret", "missing.txt"],
)  # fmt: skip
def test_artifact_paths_never_leave_the_run(client: TestClient, built: Built, path: str) -> None:
    run_id = built.run_ids[0]
    store = built.open()
    folder = store.location.staging_dir(run_id)
    store.close()
    outside = folder.parent.parent / "secret"
    outside.mkdir(exist_ok=True)
    (outside / "secret").write_text("top secret")
    if not (folder / "link").exists():
        (folder / "link").symlink_to(outside)
    for kind in ("raw", "files"):
        response = client.get(f"/runs/{run_id}/{kind}/{path}")
        assert response.status_code in (404, 400)
        assert "top secret" not in response.text
        assert "SQLite format" not in response.text


def test_compare_shows_differences_env_and_data_diffs(client: TestClient, built: Built) -> None:
    page = client.get("/compare", params={"run": built.run_ids})
    assert page.status_code == 200
    text = page.text
    assert 'id="diff-only" checked' in text
    # optimizer differs, the entry point does not.
    assert re.search(r'<tr class="differs"><th class="mono">optimizer</th>', text)
    assert re.search(r'<tr class="same"><th class="mono">entry_point</th>', text)
    # the env-lock diff, package by package: numpy differs, scikit-learn does not.
    assert re.search(
        r'<tr class="differs"><th class="mono">numpy</th><td class="mono">1.25.2</td>', text
    )
    assert re.search(r'<tr class="same"><th class="mono">scikit-learn</th>', text)
    assert re.search(
        r'<tr class="differs"><th class="mono">pandas</th><td class="mono">2.1.0</td><td class="mono"></td>',
        text,
    )
    assert re.search(r'<tr class="differs"><th class="mono">data/wine.csv</th>', text)
    assert 'id="plot-data"' in text
    assert 'id="curves"' in text


def test_compare_with_many_runs_lists_one_row_per_run(tmp_path: Path) -> None:
    built = build(tmp_path, runs=20, steps=3)
    client = TestClient(create_app(built.open))
    page = client.get("/compare", params={"runs": ",".join(built.run_ids)})
    assert page.status_code == 200
    assert page.text.count('<tr><th><a href="/runs/') == 60  # runs, env and data tables


def test_compare_refuses_fewer_than_two_runs_and_unknown_ids(
    client: TestClient, built: Built
) -> None:
    one = client.get("/compare", params={"run": built.run_ids[0]})
    assert one.status_code == 400
    assert "at least 2 runs" in one.text
    unknown = client.get("/compare", params={"runs": f"{built.run_ids[0]},ffffffffffff"})
    assert unknown.status_code == 404
    assert "no run with id" in unknown.text
    assert client.get("/runs/nope").status_code == 404
    assert client.get("/runs/ab").status_code == 400  # too short a prefix: a usage error
    assert "no active experiment with id &#39;999&#39;" in client.get("/runs?experiment=999").text


def test_a_running_run_polls_and_stops_polling_when_it_ends(tmp_path: Path) -> None:
    built = build(tmp_path, runs=1, steps=2, finish=False)
    client = TestClient(create_app(built.open))
    run_id = built.run_ids[0]
    page = client.get(f"/runs/{run_id}")
    assert f'hx-get="/runs/{run_id}/live" hx-trigger="every 2s"' in page.text
    assert 'class="poll"' in client.get("/runs").text  # the table refreshes while one runs
    assert 'data-running="1"' in page.text
    store = built.open()
    store.log_batch(run_id, EventBatch(metrics=(Metric("rmse", 0.125, 7, 1),)))
    live = client.get(f"/runs/{run_id}/live")
    assert "0.125" in live.text
    assert "every 2s" in live.text
    assert client.get(f"/runs/{run_id}/metrics.json").json()["status"] == "RUNNING"
    store.finish_run(run_id, "FINISHED", 0)
    store.close()
    assert 'class="poll"' not in client.get("/runs").text
    done = client.get(f"/runs/{run_id}/live")
    assert "FINISHED" in done.text
    assert "hx-trigger" not in done.text


XSS = "<script>alert(1)</script>\"'><img src=x onerror=alert(2)>"


def test_user_data_is_escaped_everywhere(tmp_path: Path) -> None:
    built = build(tmp_path / "a", runs=2, steps=2, name=XSS, run_names=[XSS, XSS + "2"])
    store = built.open()
    from mlrun_cli.tracking.models import Param

    store.log_batch(built.run_ids[0], EventBatch(params=(Param(XSS, XSS),), tags=((XSS, XSS),),
                                                 metrics=(Metric(XSS, 1.0, 0, 1),)))  # fmt: skip
    store.close()
    client = TestClient(create_app(built.open))
    pages = [
        client.get("/"),
        client.get("/runs"),
        client.get("/runs", params={"filter": XSS}),
        client.get("/runs", params={"col": [f"param:{XSS}", f"tag:{XSS}", f"metric:{XSS}"]}),
        client.get(f"/runs/{built.run_ids[0]}"),
        client.get("/compare", params={"runs": ",".join(built.run_ids)}),
        client.get(f"/runs/{built.run_ids[0]}/files/{XSS}"),
    ]
    for page in pages:
        assert "<script>alert" not in page.text
        assert "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[4].text
    # JSON embedded for the canvas plots cannot close its <script> element.
    assert "\\u003cscript\\u003e" in pages[5].text


def test_only_get_pages_no_write_endpoint(client: TestClient, built: Built) -> None:
    for path in ("/", "/runs", f"/runs/{built.run_ids[0]}", "/compare"):
        assert client.post(path).status_code == 405
        assert client.delete(path).status_code == 405


def test_static_assets_are_served_from_the_package(client: TestClient) -> None:
    for name in ("vendor/htmx-2.0.4.min.js", "vendor/uplot-1.6.32.iife.min.js", "mlrun.js",
                 "mlrun.css", "vendor/uplot-1.6.32.min.css"):  # fmt: skip
        assert client.get(f"/static/{name}").status_code == 200
    assert client.get("/static/../app.py").status_code == 404


def test_the_ui_mounts_under_a_prefix(built: Built) -> None:
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from mlrun_cli.ui.app import routes

    app = Starlette(routes=[Mount("/ui", routes=routes(built.open))])
    client = TestClient(app)
    page = client.get(f"/ui/runs/{built.run_ids[0]}")
    assert page.status_code == 200
    assert 'href="/ui/static/mlrun.css"' in page.text
    assert client.get("/ui/static/mlrun.js").status_code == 200


def test_curves_send_every_step_when_they_fit_and_nan_as_null(tmp_path: Path) -> None:
    built = build(tmp_path, runs=2, steps=50)
    store = built.open()
    store.log_batch(built.run_ids[1], EventBatch(metrics=(Metric("loss", float("nan"), 50, 1),
                                                          Metric("loss", float("inf"), 51, 1))))  # fmt: skip
    store.close()
    client = TestClient(create_app(built.open))
    curves = client.get("/compare/curves.json", params={"key": "loss", "runs": built.run_ids})
    data = curves.json()
    assert data["bucket_width"] == 1
    first, second = data["series"]
    assert data["x"] is None  # the second run has two more steps
    assert sorted(first["x"]) == list(range(50))
    assert first["hi"] is None
    assert dict(zip(second["x"], second["y"], strict=True))[50] is None
    assert dict(zip(second["x"], second["y"], strict=True))[51] is None


class OtherStore:
    """A TrackingStore that is not SQLite (delegates to one): the protocol-only path."""

    def __init__(self, inner: object) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


@pytest.mark.parametrize("steps", [50, 5000])
def test_curves_are_the_same_through_the_protocol_alone(tmp_path: Path, steps: int) -> None:
    from mlrun_cli.tracking.histories import histories_text

    built = build(tmp_path, runs=2, steps=steps)
    store = built.open()
    fast = histories_text(store, built.run_ids, "loss", 100)
    slow = histories_text(OtherStore(store), built.run_ids, "loss", 100)  # type: ignore[arg-type]
    store.close()
    assert fast[0] == slow[0]
    for a, b in zip(fast[1], slow[1], strict=True):

        def points(text: str | None) -> list[float]:
            return sorted(float(v) for v in (text or "").split(",") if v)

        assert points(a.x) == pytest.approx(points(b.x))
        assert points(a.y) == pytest.approx(points(b.y))
        assert points(a.high) == pytest.approx(points(b.high))


def test_vendored_assets_are_the_pinned_files_with_their_licences() -> None:
    import hashlib

    from mlrun_cli.ui.app import HERE

    vendor = HERE / "static" / "vendor"
    listed = (vendor / "README.txt").read_text().split("sha256:", 1)[1].split()
    pins = dict(zip(listed[1::2], listed[0::2], strict=True))
    assert set(pins) == {"htmx-2.0.4.min.js", "uplot-1.6.32.iife.min.js", "uplot-1.6.32.min.css"}
    for name, digest in pins.items():
        assert hashlib.sha256((vendor / name).read_bytes()).hexdigest() == digest
    assert "Zero-Clause BSD" in (vendor / "htmx-LICENSE.txt").read_text()
    assert "MIT License" in (vendor / "uplot-LICENSE.txt").read_text()


def test_experiment_stats_are_the_same_through_the_protocol_alone(tmp_path: Path) -> None:
    from mlrun_cli.tracking.run_stats import experiment_run_stats

    built = build(tmp_path, runs=3, steps=1)
    store = built.open()
    store.set_run_stage(built.run_ids[0], "deleted")
    ids = ["0", built.experiment_id]
    fast = experiment_run_stats(store, ids)
    slow = experiment_run_stats(OtherStore(store), ids)  # type: ignore[arg-type]
    store.close()
    assert fast == slow
    assert fast[built.experiment_id].runs == 2  # deleted runs are not counted
    assert fast["0"].runs == 0
    assert fast["0"].last_activity is None


def test_a_download_of_a_growing_file_stops_at_its_declared_size(built: Built) -> None:
    """The raw download declares the size it saw; bytes appended meanwhile are not sent
    (uvicorn refuses a body longer than its Content-Length)."""
    from mlrun_cli.ui import pages_run
    from mlrun_cli.ui.app import Ui
    from tests.ui.stores import add_artifact

    store = built.open()
    run_id = built.run_ids[0]
    add_artifact(store, run_id, "growing.log", b"a" * (pages_run.DOWNLOAD_CHUNK + 10))
    target = store.location.staging_dir(run_id) / "growing.log"
    store.close()
    declared = target.stat().st_size
    body = pages_run._chunks(Ui(built.open), run_id, "growing.log", declared)
    first = next(body)
    with target.open("ab") as out:
        out.write(b"b" * 5000)  # still being written
    sent = first + b"".join(body)
    assert len(sent) == declared
    assert sent == b"a" * declared
