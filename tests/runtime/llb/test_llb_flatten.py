"""Flatten: a deep state copied onto scratch, with the same files and defaults."""

from __future__ import annotations

from archon.runtime.llb import FLATTEN_DEPTH, MAX_LAYER_DEPTH, State, marshal, validate

from llb_testing import root_op

BASE = State.image("alpine", layers=5).with_env("A", "1").with_cwd("/w").with_user("app")


def test_flatten_copies_root_onto_scratch():
    state = BASE.run(["make"])

    flat = state.flatten()
    op = root_op(flat)
    action = op.file.actions[0]

    assert len(op.inputs) == 1
    assert op.inputs[0].digest == marshal(state).root[0]
    assert action.input == -1
    assert action.secondaryInput == 0
    assert action.output == 0
    assert action.copy.src == "/"
    assert action.copy.dest == "/"
    assert action.copy.dirCopyContents is True
    assert action.copy.followSymlink is False
    assert action.copy.mode == -1
    assert action.copy.timestamp == -1
    assert not action.copy.HasField("owner")


def test_flatten_resets_depth_and_keeps_defaults():
    flat = BASE.run(["make"]).flatten()

    assert flat.depth == 1
    assert flat.env == BASE.env
    assert flat.cwd == "/w"
    assert flat.user == "app"


def test_flatten_of_scratch_is_scratch():
    assert State.scratch().flatten().is_scratch


def test_needs_flatten_threshold():
    assert State.image("alpine", layers=FLATTEN_DEPTH - 1).needs_flatten is False
    assert State.image("alpine", layers=FLATTEN_DEPTH).needs_flatten is True


def test_flatten_threshold_below_overlay_limit():
    assert FLATTEN_DEPTH < MAX_LAYER_DEPTH


def test_long_exec_chain_stays_valid_with_flatten():
    state = BASE
    deepest_exec_root = 0
    for index in range(300):
        deepest_exec_root = max(deepest_exec_root, state.depth)
        state = state.run(["step", str(index)])
        if state.needs_flatten:
            state = state.flatten()

    assert validate(state) == ()
    assert deepest_exec_root == FLATTEN_DEPTH - 1


def test_long_exec_chain_without_flatten_is_reported():
    state = BASE
    for index in range(MAX_LAYER_DEPTH):
        state = state.run(["step", str(index)])

    # BASE has 5 layers, so the last four execs run on roots of 128 to 131 layers.
    assert [problem.value for problem in validate(state)] == [128, 129, 130, 131]
