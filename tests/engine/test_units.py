"""Engine pieces that need no daemon: addresses, patterns, masking, outputs."""

from __future__ import annotations

import os

import pytest

from archon.engine import outputs
from archon.engine.buildkit import fsutil
from archon.engine.buildkit.connect import (
    AddressError,
    DaemonUnavailableError,
    candidate_addresses,
    connect_any,
    parse_address,
)
from archon.engine.progress import MASK, ProgressTracker, SecretMasker
from archon.engine.buildkit.pb import control_pb2


# --- addresses ------------------------------------------------------------------


def test_parse_docker_default_socket():
    address = parse_address("docker://", environ={})
    assert address.path == "/var/run/docker.sock"


def test_parse_docker_uses_docker_host():
    address = parse_address("docker://", environ={"DOCKER_HOST": "unix:///run/user/docker.sock"})
    assert address.path == "/run/user/docker.sock"


def test_parse_docker_explicit_socket():
    address = parse_address("docker:///tmp/d.sock")
    assert (address.scheme, address.path) == ("docker", "/tmp/d.sock")


def test_parse_unix_and_tcp():
    assert parse_address("unix:///run/buildkit/buildkitd.sock").path == "/run/buildkit/buildkitd.sock"
    tcp = parse_address("tcp://127.0.0.1:1234")
    assert (tcp.host, tcp.port) == ("127.0.0.1", 1234)


@pytest.mark.parametrize("text", ["buildkitd.sock", "unix://relative.sock", "tcp://host", "ssh://host", "docker://relative"])
def test_parse_invalid_addresses(text):
    with pytest.raises(AddressError, match="invalid BuildKit address"):
        parse_address(text)


def test_candidates_prefer_flag_then_env():
    environ = {"ARCHON_BUILDKIT_ADDR": "unix:///env.sock"}
    assert candidate_addresses("tcp://h:1", "unix:///settings.sock", environ=environ) == ["tcp://h:1"]
    assert candidate_addresses(None, "unix:///settings.sock", environ=environ) == ["unix:///env.sock"]
    assert candidate_addresses(None, "unix:///settings.sock", environ={}) == ["unix:///settings.sock"]


def test_no_daemon_error_names_every_address(tmp_path):
    environ = {"DOCKER_HOST": f"unix://{tmp_path}/docker.sock", "XDG_RUNTIME_DIR": str(tmp_path)}
    with pytest.raises(DaemonUnavailableError) as caught:
        connect_any(environ=environ, timeout=1)
    message = str(caught.value)
    assert f"docker://{tmp_path}/docker.sock" in message
    assert "unix:///run/buildkit/buildkitd.sock" in message
    assert f"unix://{tmp_path}/buildkit/buildkitd.sock" in message
    assert "scripts/daemons start" in message


# --- fsutil walk and patterns ------------------------------------------------------


@pytest.fixture
def tree(tmp_path):
    for path in ["a.txt", "b.log", "sub/c.txt", "sub/d.log", "sub/deep/e.txt", "skip/f.txt", "a-b/g.txt"]:
        file = tmp_path / path
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(path)
    (tmp_path / "link").symlink_to("sub/c.txt")
    return tmp_path


def _paths(entries):
    return [entry.path for entry in entries]


def test_walk_order_matches_go(tree):
    # Go's filepath.Walk sorts the names of each directory bytewise, so
    # "a-b" (0x2d) comes before "a.txt" (0x2e), and a directory's contents
    # come right after it.
    assert _paths(fsutil.walk(str(tree))) == [
        "a-b", "a-b/g.txt", "a.txt", "b.log", "link", "skip", "skip/f.txt",
        "sub", "sub/c.txt", "sub/d.log", "sub/deep", "sub/deep/e.txt",
    ]


def test_walk_excludes_with_double_star(tree):
    paths = _paths(fsutil.walk(str(tree), exclude=["**/*.log", "skip"]))
    assert "b.log" not in paths
    assert "sub/d.log" not in paths
    assert "skip" not in paths
    assert "sub/deep/e.txt" in paths


def test_walk_negated_exclude_reincludes(tree):
    paths = _paths(fsutil.walk(str(tree), exclude=["sub", "!sub/c.txt"]))
    assert "sub/c.txt" in paths
    assert "sub/d.log" not in paths
    assert "sub" in paths


def test_walk_include_keeps_parents(tree):
    paths = _paths(fsutil.walk(str(tree), include=["sub/deep/*.txt", "a.txt"]))
    assert paths == ["a.txt", "sub", "sub/deep", "sub/deep/e.txt"]


def test_walk_follow_paths_add_link_target(tree):
    paths = _paths(fsutil.walk(str(tree), include=["a.txt"], follow_paths=["link"]))
    assert paths == ["a.txt", "link", "sub", "sub/c.txt"]


def test_stat_modes_are_go_file_modes(tree):
    entries = {entry.path: entry.stat for entry in fsutil.walk(str(tree))}
    assert entries["sub"].mode == fsutil.MODE_DIR | (os.stat(tree / "sub").st_mode & 0o777)
    assert entries["link"].mode & fsutil.MODE_SYMLINK
    assert entries["link"].linkname == "sub/c.txt"
    assert entries["a.txt"].size == len("a.txt")
    assert entries["a.txt"].uid == 0


def test_hard_link_sent_as_link(tmp_path):
    (tmp_path / "first").write_text("data")
    os.link(tmp_path / "first", tmp_path / "second")
    entries = {entry.path: entry.stat for entry in fsutil.walk(str(tmp_path))}
    assert entries["second"].linkname == "first"
    assert entries["second"].size == 0


# --- secret masking ---------------------------------------------------------------


def test_masker_masks_each_line_of_multiline_value():
    masker = SecretMasker(["line-one-secret\nline-two-secret\n"])
    assert masker.mask("got line-two-secret here") == f"got {MASK} here"
    assert masker.mask("line-one-secret") == MASK


def test_masker_masks_longest_value_first():
    masker = SecretMasker(["abc", "abcdef"])
    assert masker.mask("xabcdefx") == f"x{MASK}x"


def test_tracker_masks_secret_split_across_log_chunks():
    tracker = ProgressTracker(SecretMasker(["hunter2-secret"]))
    for chunk in (b"value: hunter2-", b"secret\n"):
        response = control_pb2.StatusResponse()
        response.logs.add(vertex="sha256:1", stream=1, msg=chunk)
        tracker.update(response)
    assert list(tracker.vertices["sha256:1"].logs) == [f"value: {MASK}"]


# --- outputs ----------------------------------------------------------------------


def test_parse_export_formats():
    assert outputs.parse_export("s", b"  hello\n", "string") == "hello"
    assert outputs.parse_export("j", b'{"a": [1, 2]}', "json") == {"a": [1, 2]}


def test_parse_export_invalid_json_names_export():
    with pytest.raises(outputs.OutputError, match="export 'config': invalid JSON at line 1"):
        outputs.parse_export("config", b"{nope", "json")


def test_parse_export_yaml_without_library():
    try:
        import yaml  # noqa: F401
    except ImportError:
        with pytest.raises(outputs.OutputError, match="needs PyYAML"):
            outputs.parse_export("y", b"a: 1", "yaml")
    else:
        assert outputs.parse_export("y", b"a: 1", "yaml") == {"a": 1}


def test_replace_directory_swaps_whole_tree(tmp_path):
    destination = tmp_path / "site"
    destination.mkdir()
    (destination / "old.html").write_text("old")
    staging = outputs.stage_directory(str(destination))
    with open(os.path.join(staging, "new.html"), "w") as file:
        file.write("new")

    outputs.replace_directory(staging, str(destination))

    assert sorted(os.listdir(destination)) == ["new.html"]
    assert sorted(os.listdir(tmp_path)) == ["site"]


def test_check_destination_rejects_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(outputs.OutputError, match="exists and is not a directory"):
        outputs.check_destination("site", str(tmp_path / "file"))
