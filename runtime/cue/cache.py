"""Parsed files cached by content, so that an unchanged file is parsed once.

`parse_cached(text, filename)` returns the tree `parse(text, filename)`
would, and the same object for the same text and file name for as long as
it stays in a bounded LRU cache. The key is a digest of the text and the
file name (every span names its file, so the same text under another name
is another tree).

A cached tree is shared by every caller that parses the same content,
across loads, threads and editor passes: callers must treat it as
read-only. No code in Archon changes a tree after `parse` returns it, and
tests/runtime/test_parse_cache.py checks that a load and a compile leave
cached trees as they were. Code that needs a changed tree builds a new one.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any, Callable, TypeVar

from cachetools import Cache, LRUCache

from archon.runtime.cue import ast
from archon.runtime.cue.parser import ensure_recursion_limit, parse

# The cache is bounded by the total length of the cached texts, in
# characters. A tree takes about 90 bytes of memory per character of its
# text, measured on the generated fan of 300 components (51 kB of text,
# 4.4 MB of tree, 3 % more for what `derived` keeps). So the default bound
# keeps at most about 45 MB of trees: a module of several hundred
# components, with room for the language server's recent versions of an
# edited file, which each keystroke adds and the next one makes useless.
DEFAULT_MAX_CHARACTERS = 500_000

T = TypeVar("T")


class _Entry:
    """A cached tree, its text's length and what was computed from it (see `ParseCache.derived`)."""

    __slots__ = ("file", "size", "derived")

    def __init__(self, file: ast.File, size: int):
        self.file = file
        self.size = size
        self.derived: dict[str, Any] = {}


class _Entries(LRUCache):
    """An LRU cache that reports each entry it drops to its owner."""

    def __init__(self, maxsize: int, dropped: Callable[[_Entry], None]):
        super().__init__(maxsize=maxsize, getsizeof=lambda entry: entry.size)
        self._dropped = dropped

    def __delitem__(self, key, cache_delitem=LRUCache.__delitem__):
        entry = Cache.__getitem__(self, key) if key in self else None
        cache_delitem(self, key)
        if entry is not None:
            self._dropped(entry)


class ParseCache:
    """A thread-safe LRU cache of parsed files, keyed by a digest of file name and text.

    Each entry weighs its text's length (at least 1), so that many small
    files and a few large ones are bounded alike.
    """

    def __init__(self, max_characters: int = DEFAULT_MAX_CHARACTERS):
        self._lock = threading.RLock()
        self._entries = _Entries(max_characters, self._forget)
        # The entry of each cached tree by the tree's id. An entry keeps its
        # tree alive, so an id stays unique while it is in this map.
        self._by_id: dict[int, _Entry] = {}
        self.hits = 0
        self.misses = 0

    def parse(self, text: str, filename: str = "<input>") -> ast.File:
        """Return the tree of text, parsing it only when this content was not parsed before."""
        key = _digest(text, filename)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self.hits += 1
                ensure_recursion_limit()
                return entry.file

        parsed = parse(text, filename)
        size = max(len(text), 1)
        with self._lock:
            self.misses += 1
            entry = self._entries.get(key)
            if entry is not None:
                # Another thread parsed the same content meanwhile: share its tree.
                return entry.file
            if size <= self._entries.maxsize:
                entry = _Entry(parsed, size)
                self._entries[key] = entry
                self._by_id[id(parsed)] = entry
        return parsed

    def derived(self, file: ast.File, name: str, compute: Callable[[ast.File], T]) -> T:
        """Return `compute(file)`, computed once per cached tree and name.

        compute must depend on the tree alone (and on nothing that changes
        while the process runs), and its result is shared like the tree:
        callers must not change it. A tree that is not in the cache (parsed
        elsewhere, or dropped since) is computed for every call.
        """
        with self._lock:
            entry = self._by_id.get(id(file))
            if entry is not None and entry.file is file and name in entry.derived:
                return entry.derived[name]
        value = compute(file)
        if entry is not None and entry.file is file:
            with self._lock:
                value = entry.derived.setdefault(name, value)
        return value

    def _forget(self, entry: _Entry) -> None:
        if self._by_id.get(id(entry.file)) is entry:
            del self._by_id[id(entry.file)]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._by_id.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def _digest(text: str, filename: str) -> bytes:
    digest = hashlib.blake2b(digest_size=20)
    name = filename.encode("utf-8", "surrogatepass")
    digest.update(len(name).to_bytes(8, "little"))
    digest.update(name)
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.digest()


_default_cache = ParseCache()


def default_parse_cache() -> ParseCache:
    return _default_cache


def parse_cached(text: str, filename: str = "<input>") -> ast.File:
    """`parse(text, filename)`, served from the process-wide cache when the content was parsed before.

    The tree is shared: do not change it.
    """
    return _default_cache.parse(text, filename)


def derived(file: ast.File, name: str, compute: Callable[[ast.File], T]) -> T:
    """`compute(file)`, once per tree of the process-wide cache and name (see `ParseCache.derived`)."""
    return _default_cache.derived(file, name, compute)
