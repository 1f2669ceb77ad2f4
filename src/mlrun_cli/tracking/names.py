"""Readable run names (``brave-heron-042``) so people can tell runs apart at a glance."""

from __future__ import annotations

import os

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
    # os.urandom, not secrets/random (~7 ms of imports on every run); the modulo bias of 64
    # random bits over a few dozen words is nothing a name cares about.
    draw = int.from_bytes(os.urandom(8), "big")
    adjective = _ADJECTIVES[draw % len(_ADJECTIVES)]
    noun = _NOUNS[(draw >> 16) % len(_NOUNS)]
    return f"{adjective}-{noun}-{(draw >> 32) % 1000:03d}"
