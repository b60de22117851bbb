"""The image config cache in front of the engine's resolver."""

from __future__ import annotations

from archon.runtime.llb import ImageConfig
from archon.runtime.resolve import CachingResolver, ResolvedImage


class CountingResolver:
    def __init__(self):
        self.calls: list[str] = []

    def resolve(self, ref):
        self.calls.append(ref)
        if ref == "broken":
            raise OSError("daemon went away")
        return ResolvedImage(ImageConfig(env=("PATH=/bin",), working_dir="/srv"), layers=2)


def test_each_ref_resolved_once():
    inner = CountingResolver()
    resolver = CachingResolver(inner)

    first = resolver.resolve("archon/busybox:latest")
    second = resolver.resolve("archon/busybox:latest")

    assert first is second
    assert inner.calls == ["archon/busybox:latest"]


def test_failure_falls_back_to_none():
    inner = CountingResolver()
    resolver = CachingResolver(inner)

    assert resolver.resolve("broken") is None
    assert resolver.resolve("broken") is None
    assert inner.calls == ["broken"]


def test_entries_expire():
    inner = CountingResolver()
    resolver = CachingResolver(inner, ttl=0)

    resolver.resolve("archon/debian:bookworm")
    resolver.resolve("archon/debian:bookworm")

    assert inner.calls == ["archon/debian:bookworm", "archon/debian:bookworm"]
