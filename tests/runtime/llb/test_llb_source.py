"""Source ops: identifiers and attributes as BuildKit reads them."""

from __future__ import annotations

import json

import pytest

from archon.runtime.llb import ImageConfig, LLBError, OpMeta, Platform, State, marshal, validate
from archon.runtime.llb.source import normalize_image_ref

from llb_testing import metadata_of, single_op


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("alpine", "docker.io/library/alpine:latest"),
        ("alpine:3.19", "docker.io/library/alpine:3.19"),
        ("archon/busybox:latest", "docker.io/archon/busybox:latest"),
        ("index.docker.io/library/alpine", "docker.io/library/alpine:latest"),
        ("registry.local:5000/team/app", "registry.local:5000/team/app:latest"),
        ("localhost/app:dev", "localhost/app:dev"),
        ("ghcr.io/org/tool:1.2.3", "ghcr.io/org/tool:1.2.3"),
        ("alpine@sha256:" + "a" * 64, "docker.io/library/alpine@sha256:" + "a" * 64),
        ("alpine:3@sha256:" + "b" * 64, "docker.io/library/alpine:3@sha256:" + "b" * 64),
    ],
)
def test_image_ref_normalized(ref, expected):
    assert normalize_image_ref(ref) == expected


@pytest.mark.parametrize("ref", ["", "Alpine", "alpine:", "alpine@sha256:12", "a b", "/alpine", "alpine:bad tag"])
def test_invalid_image_ref_rejected(ref):
    assert normalize_image_ref(ref) is None


def test_image_source_identifier():
    op = single_op(State.image("alpine:3.19"), "source")

    assert op.source.identifier == "docker-image://docker.io/library/alpine:3.19"
    assert len(op.inputs) == 0
    assert dict(op.source.attrs) == {}


def test_image_source_platform_and_resolve_mode():
    state = State.image("alpine", platform=Platform("linux", "arm64", "v8"), resolve_mode="pull")

    op = single_op(state, "source")

    assert op.platform.OS == "linux"
    assert op.platform.Architecture == "arm64"
    assert op.platform.Variant == "v8"
    assert op.source.attrs["image.resolvemode"] == "pull"


def test_image_caps_declared():
    metadata = metadata_of(marshal(State.image("alpine")), "source")

    assert dict(metadata.caps) == {"source.image": True}


def test_image_config_seeds_exec_defaults():
    config = ImageConfig.from_oci({
        "architecture": "amd64",
        "config": {"Env": ["PATH=/usr/bin", "LANG=C"], "WorkingDir": "/app", "User": "1000:1000"},
    })
    state = State.image("alpine", config=config)

    exec_op = single_op(state.run(["true"]), "exec")

    assert list(exec_op.exec.meta.env) == ["LANG=C", "PATH=/usr/bin"]
    assert exec_op.exec.meta.cwd == "/app"
    assert exec_op.exec.meta.user == "1000:1000"


def test_image_layers_set_depth():
    assert State.image("alpine", layers=7).depth == 7


def test_local_source_attrs():
    state = State.local("context", include=["src/**", "go.mod"], exclude=["**/*_test.go"], shared_key="ctx")

    op = single_op(state, "source")

    assert op.source.identifier == "local://context"
    assert json.loads(op.source.attrs["local.includepattern"]) == ["src/**", "go.mod"]
    assert json.loads(op.source.attrs["local.excludepatterns"]) == ["**/*_test.go"]
    assert op.source.attrs["local.sharedkeyhint"] == "ctx"


def test_local_source_without_patterns_has_no_attrs():
    op = single_op(State.local("context"), "source")

    assert dict(op.source.attrs) == {}


def test_local_caps_declared():
    state = State.local("context", include=["a"], exclude=["b"], shared_key="k")

    metadata = metadata_of(marshal(state), "source")

    assert set(metadata.caps) == {
        "source.local",
        "source.local.includepatterns",
        "source.local.excludepatterns",
        "source.local.sharedkeyhint",
    }


def test_git_source_https_remote():
    state = State.git("https://github.com/org/repo.git", "v1.2.0", keep_git_dir=True)

    op = single_op(state, "source")

    assert op.source.identifier == "git://github.com/org/repo.git#v1.2.0"
    assert op.source.attrs["git.fullurl"] == "https://github.com/org/repo.git"
    assert op.source.attrs["git.keepgitdir"] == "true"


def test_git_source_scp_remote_without_ref():
    op = single_op(State.git("git@github.com:org/repo.git"), "source")

    assert op.source.identifier == "git://github.com:org/repo.git"
    assert op.source.attrs["git.fullurl"] == "git@github.com:org/repo.git"
    assert "git.keepgitdir" not in op.source.attrs


def test_git_caps_declared():
    state = State.git("https://github.com/org/repo.git", "main", keep_git_dir=True)

    metadata = metadata_of(marshal(state), "source")

    assert set(metadata.caps) == {"source.git", "source.git.fullurl", "source.git.keepgitdir"}


def test_http_source_attrs():
    checksum = "sha256:" + "0123456789abcdef" * 4
    state = State.http("https://example.com/tool.tar.gz", checksum=checksum, filename="tool.tgz", chmod=0o755)

    op = single_op(state, "source")

    assert op.source.identifier == "https://example.com/tool.tar.gz"
    assert op.source.attrs["http.checksum"] == checksum
    assert op.source.attrs["http.filename"] == "tool.tgz"
    assert op.source.attrs["http.perm"] == "0755"


def test_http_caps_declared():
    state = State.http("https://example.com/f", checksum="sha256:" + "0" * 64, chmod=0o644)

    metadata = metadata_of(marshal(state), "source")

    assert set(metadata.caps) == {"source.http", "source.http.checksum", "source.http.perm"}


@pytest.mark.parametrize(
    ("state", "value"),
    [
        (State.image("Not A Ref"), "Not A Ref"),
        (State.image("alpine", resolve_mode="sometimes"), "sometimes"),
        (State.local(""), ""),
        (State.git(""), ""),
        (State.git("https://github.com/org/repo.git#main"), "https://github.com/org/repo.git#main"),
        (State.http("ftp://example.com/f"), "ftp://example.com/f"),
        (State.http("https://example.com/f", checksum="md5:abc"), "md5:abc"),
        (State.http("https://example.com/f", filename="a/b"), "a/b"),
        (State.http("https://example.com/f", chmod=0o17777), 0o17777),
    ],
)
def test_invalid_source_value_reported(state, value):
    problems = validate(state)

    assert [problem.value for problem in problems] == [value]


def test_source_problem_carries_meta():
    meta = OpMeta(annotations={"component": "base"})

    with pytest.raises(LLBError) as caught:
        marshal(State.image("Bad Ref", meta=meta))

    assert caught.value.problems[0].annotations == {"component": "base"}
