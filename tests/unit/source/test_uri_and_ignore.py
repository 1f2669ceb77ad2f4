from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlrun_cli.errors import UsageError
from mlrun_cli.source.ignore import IgnoreRules
from mlrun_cli.source.local import content_hash
from mlrun_cli.source.uri import ProjectUri, parse_uri, redact, redact_text


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("./proj", ProjectUri("local", "./proj")),
        ("proj#sub/dir", ProjectUri("local", "proj", "sub/dir")),
        (
            "https://github.com/org/repo.git#models/v1.2",
            ProjectUri("git", "https://github.com/org/repo.git", "models/v1.2"),
        ),
        ("ssh://git@host/org/repo", ProjectUri("git", "ssh://git@host/org/repo")),
        ("git@github.com:org/repo.git#a", ProjectUri("git", "git@github.com:org/repo.git", "a")),
        ("file:///srv/repo.git", ProjectUri("git", "file:///srv/repo.git")),
        ("file:///srv/folder", ProjectUri("local", "/srv/folder")),
    ],
)
def test_parse(uri: str, expected: ProjectUri) -> None:
    assert parse_uri(uri) == expected


@pytest.mark.parametrize("uri", ["repo#", "repo#../x", "s3://bucket/x", ""])
def test_parse_errors(uri: str) -> None:
    with pytest.raises(UsageError):
        parse_uri(uri)


def test_redaction() -> None:
    url = "https://alice:tok3n@host.example/org/repo.git"
    assert redact(url) == "https://***@host.example/org/repo.git"
    assert redact("https://host/x") == "https://host/x"
    assert redact("git@host:org/repo") == "git@host:org/repo"
    assert redact_text("fatal: could not read from https://alice:tok3n@host.example", url) == (
        "fatal: could not read from https://***@host.example"
    )


def test_ignore_rules() -> None:
    rules = IgnoreRules(["# comment", "*.csv", "!keep.csv", "/build/", "data/**/raw", "cache/"])
    assert rules.ignored("a.csv", is_dir=False)
    assert rules.ignored("deep/b.csv", is_dir=False)
    assert not rules.ignored("keep.csv", is_dir=False)
    assert rules.ignored("build", is_dir=True)
    assert not rules.ignored("src/build", is_dir=True)  # anchored to the top
    assert rules.ignored("data/x/y/raw", is_dir=False)
    assert rules.ignored("sub/cache", is_dir=True)
    assert not rules.ignored("cache", is_dir=False)  # folders only


def test_mlrunignore_shapes_the_content_hash(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("x")
    base = content_hash(tmp_path)
    (tmp_path / "out.csv").write_text("results")
    assert content_hash(tmp_path) != base
    (tmp_path / ".mlrunignore").write_text("*.csv\n")
    with_ignore = content_hash(tmp_path)
    (tmp_path / "out.csv").write_text("other results")
    assert content_hash(tmp_path) == with_ignore


@pytest.mark.parametrize(
    ("uri", "location", "sub"),
    [
        ("./p.zip", "./p.zip", ""),
        ("/abs/P.ZIP#a/b", "/abs/P.ZIP", "a/b"),
        ("file:///abs/p.zip", "file:///abs/p.zip", ""),
        (
            "https://host/archive/main.zip?x=1#repo-main",
            "https://host/archive/main.zip?x=1",
            "repo-main",
        ),
    ],
)
def test_zip_uris(uri: str, location: str, sub: str) -> None:
    assert parse_uri(uri) == ProjectUri("zip", location, sub)


@given(
    st.sampled_from(["https", "http", "ssh", "git+https"]),
    st.text(alphabet="abcXYZ019-_.~%", min_size=1, max_size=12),
    st.text(alphabet="abcXYZ019-_.~%!$&'()*+,;=", min_size=4, max_size=16),
    st.sampled_from(["host", "[::1", "[::1]:8080", "h.example:22"]),
)
@settings(max_examples=200, deadline=None)
def test_redaction_never_shows_a_password(scheme: str, user: str, secret: str, host: str) -> None:
    url = f"{scheme}://{user}:{secret}@{host}/org/repo.git"
    shown = redact(url)
    assert f":{secret}@" not in shown
    assert secret not in redact_text(f"fatal: cannot access {url}: {secret}", url)


def test_an_invalid_ipv6_url_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"not a valid URL"):
        parse_uri("http://u:T@[::1/repo.git")
