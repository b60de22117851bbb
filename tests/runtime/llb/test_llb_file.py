"""File ops: every action kind, its options and the action index space."""

from __future__ import annotations

import pytest

from archon.runtime.llb import Chown, State, copy, marshal, mkdir, mkfile, rm, symlink

from llb_testing import metadata_of, root_op

BASE = State.image("alpine", layers=1)
SOURCE = State.local("context")


def only_action(state: State):
    op = root_op(state)
    assert len(op.file.actions) == 1
    return op, op.file.actions[0]


def test_copy_all_options():
    state = BASE.file(copy(
        SOURCE, "/src/*.go", "/app/",
        follow_symlinks=True,
        dir_copy_contents=True,
        attempt_unpack=True,
        create_dest_path=True,
        allow_wildcard=True,
        allow_empty_wildcard=True,
        include=["**/*.go"],
        exclude=["**/*_test.go"],
        always_replace_existing=True,
        mode=0o640,
        owner=Chown(1000, 100),
        timestamp=1_700_000_000_000_000_000,
    ))

    op, action = only_action(state)
    copied = action.copy

    assert copied.src == "/src/*.go"
    assert copied.dest == "/app/"
    assert copied.followSymlink is True
    assert copied.dirCopyContents is True
    assert copied.attemptUnpackDockerCompatibility is True
    assert copied.createDestPath is True
    assert copied.allowWildcard is True
    assert copied.allowEmptyWildcard is True
    assert list(copied.include_patterns) == ["**/*.go"]
    assert list(copied.exclude_patterns) == ["**/*_test.go"]
    assert copied.alwaysReplaceExistingDestPaths is True
    assert copied.mode == 0o640
    assert copied.owner.user.byID == 1000
    assert copied.owner.group.byID == 100
    assert copied.timestamp == 1_700_000_000_000_000_000
    assert action.input == 0
    assert action.secondaryInput == 1
    assert action.output == 0
    assert op.inputs[1].digest == marshal(SOURCE).root[0]


def test_copy_defaults_leave_mode_and_time_unset():
    _, action = only_action(BASE.file(copy(SOURCE, "/a", "/b")))

    assert action.copy.mode == -1
    assert action.copy.timestamp == -1
    assert not action.copy.HasField("owner")
    assert action.copy.followSymlink is False
    assert action.copy.dirCopyContents is False


def test_copy_owner_by_name_resolves_in_base():
    _, action = only_action(BASE.file(copy(SOURCE, "/a", "/b", owner=Chown("app", "staff"))))

    assert action.copy.owner.user.byName.name == "app"
    assert action.copy.owner.user.byName.input == 0
    assert action.copy.owner.group.byName.name == "staff"


def test_copy_relative_paths_use_each_state_cwd():
    source = SOURCE.with_cwd("/build")
    target = BASE.with_cwd("/srv")

    _, action = only_action(target.file(copy(source, "out/app", "bin/")))

    assert action.copy.src == "/build/out/app"
    assert action.copy.dest == "/srv/bin/"


def test_copy_caps_follow_options():
    state = BASE.file(copy(SOURCE, "/", "/", include=["a"], always_replace_existing=True))

    caps = set(metadata_of(marshal(state), "file").caps)

    assert caps == {"file.base", "file.copy.includeexcludepatterns", "file.copy.alwaysreplaceexistingdestpaths"}


def test_plain_copy_declares_file_base_only():
    caps = set(metadata_of(marshal(BASE.file(copy(SOURCE, "/", "/"))), "file").caps)

    assert caps == {"file.base"}


def test_mkfile_fields():
    _, action = only_action(BASE.file(mkfile("/etc/app.conf", "key = 1\n", 0o600, owner=Chown(0, 0), timestamp=5)))

    assert action.mkfile.path == "/etc/app.conf"
    assert action.mkfile.data == b"key = 1\n"
    assert action.mkfile.mode == 0o600
    assert action.mkfile.owner.user.byID == 0
    assert action.mkfile.timestamp == 5
    assert action.input == 0
    assert action.secondaryInput == -1


def test_mkfile_default_mode_and_time():
    _, action = only_action(BASE.file(mkfile("/a", b"\x00\x01")))

    assert action.mkfile.mode == 0o644
    assert action.mkfile.timestamp == -1
    assert action.mkfile.data == b"\x00\x01"


def test_mkdir_fields():
    _, action = only_action(BASE.file(mkdir("/var/lib/app", 0o700, parents=True)))

    assert action.mkdir.path == "/var/lib/app"
    assert action.mkdir.mode == 0o700
    assert action.mkdir.makeParents is True
    assert action.mkdir.timestamp == -1


def test_rm_fields():
    state = BASE.file(rm("/tmp/*.log", allow_not_found=True, allow_wildcard=True))

    _, action = only_action(state)

    assert action.rm.path == "/tmp/*.log"
    assert action.rm.allowNotFound is True
    assert action.rm.allowWildcard is True
    assert "file.rm.wildcard" in metadata_of(marshal(state), "file").caps


def test_symlink_fields():
    state = BASE.file(symlink("../lib/tool", "/usr/bin/tool"))

    _, action = only_action(state)

    assert action.symlink.oldpath == "../lib/tool"
    assert action.symlink.newpath == "/usr/bin/tool"
    assert action.symlink.timestamp == -1
    assert "file.symlink.create" in metadata_of(marshal(state), "file").caps


def test_action_chain_index_space():
    other = State.local("other")
    state = BASE.file(
        mkdir("/app"),
        copy(SOURCE, "/", "/app/src/"),
        copy(other, "/bin", "/app/bin"),
        rm("/app/src/.git"),
    )

    op = root_op(state)
    actions = op.file.actions

    # Inputs: 0 = base, 1 = SOURCE, 2 = other; action i's result is 3 + i.
    assert len(op.inputs) == 3
    assert [action.input for action in actions] == [0, 3, 4, 5]
    assert [action.secondaryInput for action in actions] == [-1, 1, 2, -1]
    assert [action.output for action in actions] == [-1, -1, -1, 0]


def test_same_copy_source_shares_one_input():
    op = root_op(BASE.file(copy(SOURCE, "/a", "/a"), copy(SOURCE, "/b", "/b")))

    assert len(op.inputs) == 2
    assert [action.secondaryInput for action in op.file.actions] == [1, 1]


def test_file_on_scratch_has_no_base_input():
    op = root_op(State.scratch().file(mkfile("/hello", "hi")))

    assert len(op.inputs) == 0
    assert op.file.actions[0].input == -1


def test_file_op_keeps_exec_defaults_and_adds_depth():
    base = BASE.with_env("A", "1").with_cwd("/w").with_user("app")

    state = base.file(mkdir("x"))

    assert state.env == base.env
    assert state.cwd == "/w"
    assert state.user == "app"
    assert state.depth == base.depth + 1


def test_file_summary_lists_actions():
    definition = marshal(BASE.file(mkdir("/a"), copy(SOURCE, "/s", "/a/"), rm("/b"), symlink("/a", "/c")))

    assert definition.vertex(definition.root[0]).summary == "mkdir /a; copy /s -> /a/; rm /b; symlink /c -> /a"


@pytest.mark.parametrize(
    ("path", "expected"),
    [("relative/dir", "/base/relative/dir"), ("./dir", "/base/dir"), ("dir/../other", "/base/other"), ("..", "/")],
)
def test_relative_paths_resolve_against_cwd(path, expected):
    _, action = only_action(BASE.with_cwd("/base").file(mkdir(path)))

    assert action.mkdir.path == expected
