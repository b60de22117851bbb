"""Validation: every problem is reported together, naming its value."""

from __future__ import annotations

import pytest

from archon.runtime.diagnostics import Position, Span
from archon.runtime.llb import (
    MAX_LAYER_DEPTH,
    BindMount,
    CacheMount,
    Chown,
    LLBError,
    OpMeta,
    SecretMount,
    State,
    TmpfsMount,
    copy,
    marshal,
    mkdir,
    mkfile,
    validate,
)

BASE = State.image("alpine")
SPAN = Span("main.cue", Position(10, 3), Position(10, 20))


def test_all_problems_reported_together():
    meta = OpMeta(annotations={"component": "build"}, span=SPAN)
    state = BASE.run(
        [],
        mounts=[
            BindMount("/cache", State.local("a")),
            CacheMount("/cache"),
            TmpfsMount("relative/tmp"),
            BindMount("/src", State.local("b"), path="../../etc", readonly=True),
        ],
        meta=meta,
    )

    with pytest.raises(LLBError) as caught:
        marshal(state)

    problems = caught.value.problems
    assert [problem.value for problem in problems] == [[], "/cache", "relative/tmp", "../../etc"]
    assert all(problem.span == SPAN for problem in problems)
    assert all(problem.annotations == {"component": "build"} for problem in problems)


def test_error_message_lists_every_problem():
    state = BASE.run([], mounts=[TmpfsMount("tmp")])

    with pytest.raises(LLBError) as caught:
        marshal(state)

    message = str(caught.value)
    assert "2 problems" in message
    assert "exec args are empty" in message
    assert "mount target 'tmp' is a relative path" in message


def test_problems_from_several_vertices():
    first = BASE.run(["ok"], env={"BAD=KEY": "1"})
    second = first.file(copy(State.local("x"), "../../outside", "/in"), mkfile("/f", "x", 0o17777))

    problems = validate(second)

    assert [problem.value for problem in problems] == ["BAD=KEY", "../../outside", 0o17777]


def test_validate_returns_empty_for_valid_graph():
    assert validate(BASE.run(["true"]).file(mkdir("/out"))) == ()


@pytest.mark.parametrize(
    ("state", "value"),
    [
        (BASE.run(["x"], hosts={"db": "not-an-ip"}), "not-an-ip"),
        (BASE.run(["x"], mounts=[CacheMount("/c", sharing="sometimes")]), "sometimes"),
        (BASE.run(["x"], mounts=[CacheMount("/c", id="")]), ""),
        (BASE.run(["x"], mounts=[SecretMount("/s", "")]), ""),
        (BASE.run(["x"], mounts=[TmpfsMount("/t", size=-1)]), -1),
        (BASE.run(["x"], mounts=[TmpfsMount("/a/../../tmp")]), "/a/../../tmp"),
        (BASE.run(["x"], cwd="../.."), "../.."),
        (BASE.run("make all"), "make all"),
        (BASE.run(["x", 3]), 3),
        (BASE.with_cwd("../up").run(["x"]), "../up"),
        (BASE.with_env("", "v").run(["x"]), ""),
        (State.scratch().file(mkfile("/f", "x", owner=Chown("app"))), "app"),
        (BASE.file(mkdir("/d", owner=Chown(-1))), -1),
        (BASE.file(), []),
    ],
)
def test_invalid_value_reported(state, value):
    problems = validate(state)

    assert [problem.value for problem in problems] == [value]


def test_duplicate_root_mount_reported():
    problems = validate(BASE.run(["x"], mounts=[BindMount("/", State.local("a"))]))

    assert [problem.message for problem in problems] == ["two mounts on target '/'"]


def test_state_problem_reported_once_per_graph():
    bad = BASE.with_cwd("../x")

    problems = validate(State.scratch().file(copy(bad.run(["a"]), "/", "/a/"), copy(bad.run(["b"]), "/", "/b/")))

    assert len(problems) == 1


def test_problem_of_unreached_root_state_reported():
    assert [problem.value for problem in validate(BASE.with_cwd("../x"))] == ["../x"]


def deep_state(depth: int) -> State:
    return State.image("alpine", layers=depth)


def test_exec_on_too_deep_root_reported():
    problems = validate(deep_state(MAX_LAYER_DEPTH + 1).run(["true"]))

    assert [problem.value for problem in problems] == [MAX_LAYER_DEPTH + 1]
    assert "flatten" in problems[0].hint


def test_exec_at_max_depth_accepted():
    assert validate(deep_state(MAX_LAYER_DEPTH).run(["true"])) == ()


def test_too_deep_mount_reported():
    state = BASE.run(["ls"], mounts=[BindMount("/deep", deep_state(MAX_LAYER_DEPTH + 5), readonly=True)])

    assert [problem.value for problem in validate(state)] == [MAX_LAYER_DEPTH + 5]


def test_too_deep_file_base_and_source_reported():
    deep = deep_state(MAX_LAYER_DEPTH + 1)

    problems = validate(deep.file(copy(deep, "/", "/copy/")))

    assert [problem.value for problem in problems] == [MAX_LAYER_DEPTH + 1, MAX_LAYER_DEPTH + 1]


def test_marshal_without_roots_raises():
    with pytest.raises(TypeError):
        marshal()
