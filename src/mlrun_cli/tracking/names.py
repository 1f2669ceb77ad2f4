"""Readable run names (``brave-heron-042``) so people can tell runs apart at a glance."""

from __future__ import annotations

import secrets

_ADJECTIVES = (
    "agile", "amber", "bold", "brave", "bright", "calm", "clever", "crisp", "deft", "eager",
    "fair", "fleet", "gentle", "glad", "grand", "hardy", "honest", "keen", "kind", "lively",
    "lucid", "merry", "mighty", "neat", "noble", "polite", "proud", "quick", "quiet", "rapid",
    "sharp", "shy", "silent", "sleek", "smooth", "steady", "stoic", "sunny", "swift", "tidy",
    "vivid", "warm", "wise", "witty", "zesty",
)  # fmt: skip
_NOUNS = (
    "ant", "badger", "bat", "bear", "bee", "bison", "crane", "crow", "deer", "dove", "eagle",
    "eel", "falcon", "ferret", "finch", "fox", "gecko", "goose", "hare", "hawk", "heron", "ibis",
    "jay", "koala", "lark", "lemur", "lynx", "mole", "moose", "newt", "otter", "owl", "panda",
    "quail", "raven", "robin", "seal", "shrew", "slug", "snail", "stoat", "swan", "toad",
    "trout", "vole", "wasp", "wolf", "wren", "yak", "zebra",
)  # fmt: skip


def generate_run_name() -> str:
    """A random adjective-animal-number name; not unique, just memorable."""
    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{secrets.randbelow(1000):03d}"
