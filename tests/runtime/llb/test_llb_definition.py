"""Marshalling: digests, order, terminal op, dedupe, metadata, determinism."""

from __future__ import annotations

import hashlib

import pytest

from archon.runtime.diagnostics import Position, Span
from archon.runtime.llb import BindMount, CacheMount, OpMeta, State, TmpfsMount, copy, marshal, mkdir, mkfile

from llb_testing import decode, decoded_ops

SPAN = Span("main.cue", Position(4, 2), Position(6, 3))


def build_graph(branch_order: str, env_order: str, mount_order: str) -> State:
    """Build one fixed graph, creating its parts in the orders given."""
    base = State.image("alpine:3.19", layers=2)
    env = {"A": "1", "B": "2"} if env_order == "ab" else {"B": "2", "A": "1"}
    mounts = [CacheMount("/cache"), TmpfsMount("/tmp")]
    if mount_order == "reversed":
        mounts.reverse()

    def branch(name: str) -> State:
        return base.run(["make", name], env=env, mounts=mounts, meta=OpMeta(name=name))

    built = {}
    for name in (("lib", "app") if branch_order == "lib-first" else ("app", "lib")):
        built[name] = branch(name)

    return State.scratch().file(
        copy(built["lib"], "/out", "/lib/"),
        copy(built["app"], "/out", "/app/"),
    )


def test_build_order_does_not_change_bytes():
    first = marshal(build_graph("lib-first", "ab", "forward"))
    second = marshal(build_graph("app-first", "ba", "reversed"))

    assert first.to_bytes() == second.to_bytes()


def test_marshal_is_repeatable():
    state = build_graph("lib-first", "ab", "forward")

    assert marshal(state).to_bytes() == marshal(state).to_bytes()


def test_digest_is_sha256_of_op_bytes():
    definition = marshal(build_graph("lib-first", "ab", "forward"))
    raw_ops = list(getattr(decode(definition), "def"))

    for vertex, raw in zip(definition.vertices, raw_ops):
        assert vertex.digest == "sha256:" + hashlib.sha256(raw).hexdigest()


def test_metadata_keys_are_vertex_digests():
    definition = marshal(build_graph("lib-first", "ab", "forward"))

    assert set(decode(definition).metadata) == {vertex.digest for vertex in definition.vertices}


def test_inputs_come_before_their_readers():
    definition = marshal(build_graph("lib-first", "ab", "forward"))

    seen = set()
    for vertex in definition.vertices:
        for input_digest, _ in vertex.inputs:
            assert input_digest in seen, f"{vertex.summary} reads a later vertex"
        seen.add(vertex.digest)


def test_terminal_op_points_at_root():
    state = State.image("alpine").run(["true"])
    definition = marshal(state)

    terminal = decoded_ops(definition)[-1]

    assert len(terminal.inputs) == 1
    assert terminal.inputs[0].digest == definition.vertices[-1].digest
    assert terminal.inputs[0].index == 0
    assert terminal.WhichOneof("op") is None
    assert definition.terminal not in decode(definition).metadata


def test_terminal_names_mount_output_index():
    state = State.image("alpine").run(["make"], mounts=[BindMount("/out", State.scratch())]).get_mount("/out")

    terminal = decoded_ops(marshal(state))[-1]

    assert terminal.inputs[0].index == 1


def test_scratch_root_gives_empty_definition():
    definition = marshal(State.scratch())

    assert list(getattr(decode(definition), "def")) == []
    assert definition.root is None
    assert definition.terminal is None


def test_identical_sources_become_one_vertex():
    left = State.image("alpine").run(["a"])
    right = State.image("docker.io/library/alpine:latest").run(["b"])

    definition = marshal(State.scratch().file(copy(left, "/", "/l/"), copy(right, "/", "/r/")))

    assert [vertex.kind for vertex in definition.vertices].count("source") == 1


def test_identical_subgraphs_become_one_vertex():
    def component(name: str) -> State:
        meta = OpMeta(annotations={"component": name})
        return State.image("alpine", meta=meta).run(["make"], meta=meta)

    definition = marshal(State.scratch().file(
        copy(component("first"), "/out", "/a/"),
        copy(component("second"), "/out", "/b/"),
    ))

    kinds = [vertex.kind for vertex in definition.vertices]
    exec_vertex = next(vertex for vertex in definition.vertices if vertex.kind == "exec")
    file_op = decoded_ops(definition)[-2]
    assert kinds == ["source", "exec", "file"]
    assert exec_vertex.annotations == ({"component": "first"}, {"component": "second"})
    assert len(file_op.inputs) == 1


def test_metadata_name_and_ignore_cache():
    state = State.image("alpine").run(["date"], meta=OpMeta(name="clock", ignore_cache=True))
    definition = marshal(state)

    metadata = decode(definition).metadata[definition.root[0]]

    assert metadata.description["llb.customname"] == "clock"
    assert metadata.ignore_cache is True
    assert metadata.caps["meta.description"] is True
    assert metadata.caps["meta.ignorecache"] is True


def test_dedupe_merges_ignore_cache():
    plain = State.image("alpine").run(["date"])
    always = State.image("alpine").run(["date"], meta=OpMeta(ignore_cache=True))

    definition = marshal(State.scratch().file(copy(plain, "/", "/a/"), copy(always, "/", "/b/")))
    exec_vertex = next(vertex for vertex in definition.vertices if vertex.kind == "exec")

    assert decode(definition).metadata[exec_vertex.digest].ignore_cache is True


def test_annotations_stay_out_of_op_bytes():
    plain = marshal(State.image("alpine").run(["true"]))
    annotated = marshal(State.image("alpine").run(["true"], meta=OpMeta(annotations={"component": "x"}, span=SPAN)))

    assert plain.root == annotated.root
    assert list(getattr(decode(plain), "def")) == list(getattr(decode(annotated), "def"))


def test_vertex_record_fields():
    state = State.image("alpine").run(["make", "all"], meta=OpMeta(name="build", annotations={"component": "app"}, span=SPAN))

    definition = marshal(state)
    vertex = definition.vertex(definition.root[0])

    assert vertex.kind == "exec"
    assert vertex.summary == "exec make all"
    assert vertex.inputs == ((definition.vertices[0].digest, 0),)
    assert vertex.annotations == ({"component": "app"},)
    assert vertex.name == "build"
    assert vertex.spans == (SPAN,)
    assert "exec.meta.base" in vertex.caps


def test_source_locations_filled_from_spans():
    other = Span("lib.cue", Position(1, 1), Position(1, 10))
    base = State.image("alpine", meta=OpMeta(span=other))
    state = base.run(["true"], meta=OpMeta(span=SPAN))

    definition = marshal(state, source_data={"main.cue": b"package main\n"}, source_language="cue")
    source = decode(definition).Source

    assert [info.filename for info in source.infos] == ["lib.cue", "main.cue"]
    assert source.infos[1].data == b"package main\n"
    assert source.infos[1].language == "cue"
    location = source.locations[definition.root[0]].locations[0]
    assert location.sourceIndex == 1
    assert location.ranges[0].start.line == 4
    assert location.ranges[0].start.character == 1
    assert location.ranges[0].end.line == 6
    assert location.ranges[0].end.character == 2


def test_no_spans_leaves_source_empty():
    definition = marshal(State.image("alpine").run(["true"]))

    assert not decode(definition).HasField("Source")


def test_further_roots_add_vertices_only():
    result = State.image("alpine").run(["build"])
    extra = State.local("docs").file(mkfile("/index.html", "<p>"))

    definition = marshal(result, extra)

    assert definition.root[0] == marshal(result).root[0]
    assert {vertex.kind for vertex in definition.vertices} == {"source", "exec", "file"}


def test_long_chain_marshals_without_recursion():
    state = State.scratch()
    for index in range(3000):
        state = state.file(mkdir(f"/d{index}"))
        if state.needs_flatten:
            state = state.flatten()

    definition = marshal(state)

    assert len(definition.vertices) > 3000


def test_shared_vertex_recorded_once():
    base = State.image("alpine", meta=OpMeta(annotations={"component": "base"}))
    left = base.run(["a"])
    right = base.run(["b"])

    definition = marshal(State.scratch().file(copy(left, "/", "/l/"), copy(right, "/", "/r/")))
    source = definition.vertices[0]

    assert source.kind == "source"
    assert source.annotations == ({"component": "base"},)
    assert len(definition.vertices) == 4


def test_vertex_read_twice_by_one_op_recorded_once():
    base = State.image("alpine", meta=OpMeta(annotations={"component": "base"}))

    definition = marshal(base.file(copy(base, "/etc", "/backup/")))

    assert definition.vertices[0].annotations == ({"component": "base"},)
    assert len(definition.vertices) == 2


def test_digest_of_states_in_graph():
    base = State.image("alpine")
    built = base.run(["make"])
    definition = marshal(State.scratch().file(copy(built, "/out", "/")))

    assert definition.digest_of(base) == definition.vertices[0].digest
    assert definition.digest_of(built) == marshal(built).root[0]
    assert definition.digest_of(built.output) == marshal(built).root[0]


def test_digest_of_unknown_state_raises():
    definition = marshal(State.image("alpine"))

    with pytest.raises(KeyError):
        definition.digest_of(State.local("elsewhere"))
    with pytest.raises(KeyError):
        definition.digest_of(State.scratch())
