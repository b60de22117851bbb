"""The parse cache, the per-tree memo and the source index that `load` relies on."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from archon.runtime import source as src
from archon.runtime.compiler import compile_configuration
from archon.runtime.config import Configuration
from archon.runtime.cue import dump, parse
from archon.runtime.cue import cache as cue_cache
from archon.runtime.cue.cache import ParseCache, parse_cached
from archon.runtime.values import UP_LABELS

from compile_helpers import load_config, write_config

REPOSITORY = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cue"


# The cache itself.


def test_same_content_gives_the_same_tree():
    cache = ParseCache()
    first = cache.parse("a: 1\n", "/p/main.cue")
    second = cache.parse("a: 1\n", "/p/main.cue")

    assert second is first
    assert (cache.hits, cache.misses) == (1, 1)


def test_changed_content_is_parsed_again():
    cache = ParseCache()
    before = cache.parse("a: 1\n", "/p/main.cue")
    after = cache.parse("a: 2\n", "/p/main.cue")

    assert after is not before
    assert after.decls[0].value.value == 2
    assert before.decls[0].value.value == 1
    # The old content is still cached.
    assert cache.parse("a: 1\n", "/p/main.cue") is before


def test_same_text_under_another_name_is_another_tree():
    cache = ParseCache()
    one = cache.parse("a: 1\n", "/p/one.cue")
    two = cache.parse("a: 1\n", "/p/two.cue")

    assert one is not two
    assert one.decls[0].span.file == "/p/one.cue"
    assert two.decls[0].span.file == "/p/two.cue"


def _cue_texts() -> list[tuple[str, str]]:
    paths = sorted(FIXTURES.rglob("*.cue")) + sorted((REPOSITORY / "examples").rglob("*.cue"))
    assert paths
    return [(str(path), path.read_text(encoding="utf-8")) for path in paths]


@pytest.mark.parametrize("path,text", _cue_texts(), ids=lambda item: Path(item).name if "/" in item else "")
def test_cached_tree_is_what_parse_gives(path, text):
    cached = ParseCache().parse(text, path)
    fresh = parse(text, path)

    assert dump(cached) == dump(fresh)
    assert cached.errors == fresh.errors
    assert repr(cached) == repr(fresh)


def test_bound_drops_least_recently_used():
    cache = ParseCache(max_characters=12)
    a = cache.parse("a: 1\n", "a.cue")  # 5 characters
    b = cache.parse("b: 1\n", "b.cue")
    assert cache.parse("a: 1\n", "a.cue") is a  # a is now the most recent
    cache.parse("c: 1\n", "c.cue")  # 15 > 12: b goes

    assert len(cache) == 2
    assert cache.parse("a: 1\n", "a.cue") is a
    assert cache.parse("b: 1\n", "b.cue") is not b


def test_oversize_text_parsed_each_time():
    cache = ParseCache(max_characters=4)
    first = cache.parse("a: 1\n", "a.cue")
    second = cache.parse("a: 1\n", "a.cue")

    assert first is not second
    assert dump(first) == dump(second)
    assert len(cache) == 0


def test_threads_parsing_the_same_content_share_one_tree():
    cache = ParseCache()
    text = "".join(f"c{index}: $up: [{{do: \"exec\", args: [\"echo\", \"{index}\"]}}]\n" for index in range(200))
    start = threading.Barrier(8)
    trees = []

    def work():
        start.wait()
        trees.append(cache.parse(text, "main.cue"))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(trees) == 8
    assert all(tree is trees[0] for tree in trees)


def test_derived_values_are_computed_once_per_cached_tree():
    cache = ParseCache()
    calls = []

    def count(file):
        calls.append(file)
        return len(file.decls)

    tree = cache.parse("a: 1\nb: 2\n", "main.cue")
    assert cache.derived(tree, "count", count) == 2
    assert cache.derived(tree, "count", count) == 2
    assert len(calls) == 1
    # Another name is another value; another content another tree.
    assert cache.derived(tree, "other", count) == 2
    assert cache.derived(cache.parse("a: 1\n", "main.cue"), "count", count) == 1
    assert len(calls) == 3


def test_derived_values_of_uncached_tree_dropped():
    cache = ParseCache()
    calls = []
    tree = parse("a: 1\n", "main.cue")  # not from the cache

    for _ in range(2):
        assert cache.derived(tree, "count", lambda file: calls.append(file) or len(file.decls)) == 1
    assert len(calls) == 2


def test_derived_values_go_with_their_dropped_tree():
    cache = ParseCache(max_characters=6)
    calls = []
    tree = cache.parse("a: 1\n", "a.cue")
    cache.derived(tree, "count", lambda file: calls.append(file) or 1)
    cache.parse("b: 1\n", "b.cue")  # drops a.cue

    cache.derived(tree, "count", lambda file: calls.append(file) or 1)
    assert len(calls) == 2
    assert id(tree) not in cache._by_id


def test_clear_empties_the_cache():
    cache = ParseCache()
    tree = cache.parse("a: 1\n", "a.cue")
    cache.clear()

    assert len(cache) == 0
    assert cache.parse("a: 1\n", "a.cue") is not tree


# The source index against `source.find`, which it replaces in `load`.

INDEXED = """
package main

import "archon.dev/op"

a: b: c: 1
a: {d: 2}
a: e: {f: 3}
dup: {x: 1}
dup: {y: 2}
"quoted-label": {inner: 1}
#Def: {field: int}
_hidden: {h: 1}
amp: op.Exec & {args: ["true"], mount: "/src": {from: a}}
paren: ({p: 1})
both: {l: 1} & {r: 2}
gen: {
	for n in ["x", "y"] {(n): {$up: [{do: "scratch"}]}}
	kept: 1
}
{
	embedded: {deep: {deeper: 1}}
}
list: [{i: 1}, {j: 2}]
comp: $up: [op.FetchContainer & {ref: "x"}]
"""


def _paths_to_try(files) -> set[tuple[str, ...]]:
    paths = {path for parsed in files for path, _ in src.iter_fields(parsed)}
    more = {path + (extra,) for path in paths for extra in ("missing", "0", *UP_LABELS)}
    more |= {("missing",), ("a", "missing", "c"), ("gen", "x"), ("gen", "y"), ("list", "0"), ("dup", "y"), ()}
    return paths | more


def test_index_finds_what_find_finds():
    parsed = parse(INDEXED, "/p/main.cue")
    table = src.index(parsed)

    for path in _paths_to_try([parsed]):
        assert table.get(path) is src.find(parsed, path), path
    # Spot checks of the cases above.
    assert table[("a", "b", "c")].value.value == 1
    assert ("a", "d") not in table  # only the first `a` is followed, as find does
    assert ("dup", "y") not in table
    assert table[("quoted-label", "inner")] is not None
    assert table[("amp", "mount", "/src", "from")] is not None
    assert table[("both", "r")] is not None
    assert table[("paren", "p")] is not None
    assert table[("embedded", "deep", "deeper")] is not None
    assert ("gen", "x") not in table
    assert ("gen", "kept") in table


@pytest.mark.parametrize("path,text", _cue_texts(), ids=lambda item: Path(item).name if "/" in item else "")
def test_index_finds_what_find_finds_in_every_fixture(path, text):
    parsed = parse(text, path)
    table = src.index(parsed)

    for field_path in _paths_to_try([parsed]):
        assert table.get(field_path) is src.find(parsed, field_path), field_path


def test_field_index_prefers_first_file():
    one = parse("a: {x: 1}\nonly1: 1\n", "/p/one.cue")
    two = parse("a: {y: 2}\nonly2: 2\n", "/p/two.cue")
    index = src.FieldIndex([one, two])

    def oracle(path):
        for parsed in (one, two):
            found = src.find(parsed, path)
            if found is not None:
                return found
        return None

    for path in _paths_to_try([one, two]) | {("a", "y")}:
        assert index.find(path) is oracle(path), path
    assert index.find(("a", "y")).span.file == "/p/two.cue"


def test_index_of_a_cached_tree_is_built_once():
    tree = parse_cached("a: b: 1\n", "/p/index-once.cue")
    assert src.index(tree) is src.index(tree)
    with pytest.raises(TypeError):
        src.index(tree)[("z",)] = None  # read-only


# `load` with the cache: the same results as parsing and walking each time.

NESTED = """
base: $up: [op.FetchContainer & {ref: "archon/busybox:latest"}]
// A group of components.
group: {
	// The first one.
	first: $up: [op.Load & {from: base}, op.Exec & {args: ["echo", "1"]}]
	second: $up: [
		op.Load & {from: group.first},
		op.Exec & {args: ["echo", "2"]},
	]
}
made: {
	for name in ["x", "y"] {
		(name): $up: [op.Load & {from: base}, op.Exec & {args: ["echo", name]}]
	}
}
"""


def _old_field_node(configuration: Configuration, path):
    for parsed in configuration.files.values():
        node = src.find(parsed, path)
        if node is not None:
            return node
    return None


def _old_op_spans(configuration: Configuration, path, count):
    up = next((node for label in UP_LABELS if (node := _old_field_node(configuration, path + (label,))) is not None), None)
    spans = src.list_element_spans(up) if up is not None else []
    fallback = src.label_span(up) if up is not None else None
    if fallback is None:
        component = _old_field_node(configuration, path)
        fallback = src.label_span(component) if component is not None else None
    return [spans[i] if i < len(spans) else fallback for i in range(count)]


def _assert_sources_as_before(configuration: Configuration):
    for dotted, info in configuration.components.items():
        path = tuple(dotted.split("."))
        node = _old_field_node(configuration, path)
        assert info.span == src.label_span(node), dotted
        assert info.doc == (src.doc(node) if node is not None else None), dotted
        assert info.op_spans == _old_op_spans(configuration, path, len(info.op_spans)), dotted


def test_nested_components_keep_their_sources(tmp_path):
    write_config(tmp_path, NESTED)
    configuration = load_config(tmp_path)

    assert configuration.ok, [d.format() for d in configuration.diagnostics]
    assert set(configuration.components) == {"base", "group.first", "group.second", "made.x", "made.y"}
    _assert_sources_as_before(configuration)
    first = configuration.components["group.first"]
    assert first.doc == "The first one."
    assert first.span.start.line == 9
    assert [span.start.line for span in configuration.components["group.second"].op_spans] == [11, 12]
    # Made by a comprehension: no written field of its own, as before.
    assert configuration.components["made.x"].span is None


def test_examples_find_their_sources_as_before():
    configuration = load_config(REPOSITORY / "examples" / "hello", mode="validate")
    assert configuration.components
    _assert_sources_as_before(configuration)


def _snapshot(configuration: Configuration) -> dict:
    return {
        "diagnostics": [d.format() for d in configuration.diagnostics],
        "components": {path: (info.span, info.op_spans, info.doc, info.value) for path, info in configuration.components.items()},
        "inputs": configuration.inputs,
        "outputs": configuration.outputs,
    }


def test_second_load_reuses_trees(tmp_path):
    write_config(tmp_path, NESTED)
    write_config(tmp_path, "extra: $up: [op.Load & {from: base}]\nname: string @input()\nout: {$up: [op.Load & {from: extra}]} @output(dir=\"dist\")\n", name="more.cue")

    first = load_config(tmp_path, mode="validate")
    second = load_config(tmp_path, mode="validate")

    assert list(first.files) == list(second.files)
    assert all(second.files[path] is tree for path, tree in first.files.items())
    assert _snapshot(second) == _snapshot(first)
    assert "name" in second.inputs
    assert "out" in second.outputs


def test_load_parses_only_changed_files(tmp_path):
    main = write_config(tmp_path, NESTED)
    more = write_config(tmp_path, "extra: $up: [op.Load & {from: base}]\n", name="more.cue")
    first = load_config(tmp_path)

    changed = more.read_text().replace("extra:", "renamed:")
    second = load_config(tmp_path, overlays={str(more): changed})

    assert second.files[str(main)] is first.files[str(main)]
    assert second.files[str(more)] is not first.files[str(more)]
    assert "renamed" in second.components
    assert "extra" not in second.components
    _assert_sources_as_before(second)


def test_cycles_are_reported_the_same_from_cached_trees(tmp_path):
    write_config(tmp_path, BODY_WITH_CYCLE)

    reports = [[d.format() for d in load_config(tmp_path).diagnostics if d.code == "cycle"] for _ in range(2)]

    assert reports[0] and reports[0] == reports[1]
    assert "cycle between components: a -> b -> a" in reports[0][0]


BODY_WITH_CYCLE = """
a: $up: [op.Load & {from: b}]
b: $up: [op.Load & {from: a}]
"""


def test_load_and_compile_leave_cached_trees_unchanged(tmp_path):
    write_config(tmp_path, NESTED)
    configuration = load_config(tmp_path)
    before = {path: repr(tree) for path, tree in configuration.files.items()}

    compile_configuration(configuration)
    again = load_config(tmp_path)
    compile_configuration(again)

    assert all(again.files[path] is tree for path, tree in configuration.files.items())
    assert {path: repr(tree) for path, tree in again.files.items()} == before


def test_load_uses_the_process_wide_cache(tmp_path):
    path = write_config(tmp_path, NESTED)
    configuration = load_config(tmp_path)

    assert parse_cached(path.read_text(), str(path)) is configuration.files[str(path)]
    assert cue_cache.default_parse_cache().hits >= 1
