"""Exec ops: process fields, every mount kind and output numbering."""

from __future__ import annotations

import pytest

from archon.runtime.llb import (
    BindMount,
    CacheMount,
    ImageConfig,
    ProxyEnv,
    SecretEnv,
    SecretMount,
    SSHMount,
    State,
    TmpfsMount,
    marshal,
    mkdir,
)
from archon.runtime.llb.exec import DEFAULT_PATH
from archon.runtime.llb.pb import ops_pb2

from llb_testing import decoded_ops, metadata_of, root_op, single_op

BASE = State.image("alpine", config=ImageConfig(env=("PATH=/bin", "HOME=/root", "A=image")), layers=2)


def mounts_by_dest(op: ops_pb2.Op) -> dict[str, ops_pb2.Mount]:
    return {mount.dest: mount for mount in op.exec.mounts}


def input_digest(op: ops_pb2.Op, mount: ops_pb2.Mount) -> str:
    return op.inputs[mount.input].digest


def test_exec_process_fields():
    state = BASE.with_cwd("/work").with_user("app").run(["sh", "-c", "echo hi"], env={"A": "exec", "B": "2"})

    meta = single_op(state, "exec").exec.meta

    assert list(meta.args) == ["sh", "-c", "echo hi"]
    assert list(meta.env) == ["A=exec", "B=2", "HOME=/root", "PATH=/bin"]
    assert meta.cwd == "/work"
    assert meta.user == "app"


def test_exec_default_cwd_and_user():
    meta = single_op(State.scratch().run(["/bin/tool"]), "exec").exec.meta

    assert meta.cwd == "/"
    assert meta.user == ""


def test_exec_adds_default_path():
    meta = single_op(State.scratch().run(["/bin/tool"]), "exec").exec.meta

    assert list(meta.env) == ["PATH=" + DEFAULT_PATH]


def test_exec_overrides_are_per_exec():
    state = BASE.run(["a"], env={"A": "first"}, cwd="sub", user="nobody").run(["b"])

    meta = root_op(state).exec.meta

    assert "A=image" in meta.env
    assert meta.cwd == "/"
    assert meta.user == ""


def test_exec_relative_cwd_joins_state_cwd():
    meta = single_op(BASE.with_cwd("/src").run(["make"], cwd="cmd/tool"), "exec").exec.meta

    assert meta.cwd == "/src/cmd/tool"


def test_with_env_overrides_key_in_place():
    state = BASE.with_env("HOME", "/home/app").with_env("NEW", "1")

    assert state.env == ("PATH=/bin", "HOME=/home/app", "A=image", "NEW=1")


def test_root_mount_is_output_zero():
    op = single_op(BASE.run(["true"]), "exec")

    root = op.exec.mounts[0]
    assert root.dest == "/"
    assert root.output == 0
    assert root.input == 0
    assert root.mountType == ops_pb2.BIND
    assert op.inputs[0].index == 0


def test_scratch_root_has_no_input():
    op = single_op(State.scratch().run(["/tool"]), "exec")

    assert op.exec.mounts[0].input == -1
    assert len(op.inputs) == 0


def test_exec_state_root_and_depth():
    state = BASE.run(["true"])

    assert state.output.index == 0
    assert state.root().output.index == 0
    assert state.depth == 3


def test_bind_mount_fields():
    source = State.local("context")
    op = single_op(BASE.run(["ls"], mounts=[BindMount("/src", source, path="/sub/dir", readonly=True)]), "exec")

    mount = mounts_by_dest(op)["/src"]
    assert mount.mountType == ops_pb2.BIND
    assert mount.readonly is True
    assert mount.selector == "/sub/dir"
    assert mount.output == -1
    assert input_digest(op, mount) == marshal(source).root[0]


def test_bind_mount_relative_path_uses_source_cwd():
    source = BASE.with_cwd("/out")
    op = single_op(BASE.run(["ls"], mounts=[BindMount("/lib", source, path="lib", readonly=True)]), "exec")

    assert mounts_by_dest(op)["/lib"].selector == "/out/lib"


def test_writable_bind_mount_gets_output():
    op = single_op(BASE.run(["make"], mounts=[BindMount("/out", State.scratch())]), "exec")

    mount = mounts_by_dest(op)["/out"]
    assert mount.output == 1
    assert mount.input == -1
    assert mount.readonly is False


def test_writable_bind_mount_without_output():
    state = BASE.run(["make"], mounts=[BindMount("/scratchpad", State.scratch(), output=False)])

    op = single_op(state, "exec")

    assert mounts_by_dest(op)["/scratchpad"].output == -1
    assert "exec.mount.bind.readwrite-nooutput" in metadata_of(marshal(state), "exec").caps


def test_cache_mount_fields():
    op = single_op(BASE.run(["make"], mounts=[CacheMount("/root/.cache", id="go-build", sharing="locked")]), "exec")

    mount = mounts_by_dest(op)["/root/.cache"]
    assert mount.mountType == ops_pb2.CACHE
    assert mount.cacheOpt.ID == "go-build"
    assert mount.cacheOpt.sharing == ops_pb2.LOCKED
    assert mount.input == -1
    assert mount.output == -1


def test_cache_mount_id_defaults_to_target():
    op = single_op(BASE.run(["make"], mounts=[CacheMount("/cache", sharing="private")]), "exec")

    mount = mounts_by_dest(op)["/cache"]
    assert mount.cacheOpt.ID == "/cache"
    assert mount.cacheOpt.sharing == ops_pb2.PRIVATE


def test_seeded_cache_mount_has_no_output():
    seed = State.local("seed")
    op = single_op(BASE.run(["make"], mounts=[CacheMount("/cache", source=seed)]), "exec")

    mount = mounts_by_dest(op)["/cache"]
    assert input_digest(op, mount) == marshal(seed).root[0]
    assert mount.output == -1


def test_tmpfs_mount_fields():
    op = single_op(BASE.run(["make"], mounts=[TmpfsMount("/tmp", size=64 << 20)]), "exec")

    mount = mounts_by_dest(op)["/tmp"]
    assert mount.mountType == ops_pb2.TMPFS
    assert mount.TmpfsOpt.size == 64 << 20
    assert mount.input == -1
    assert mount.output == -1


def test_tmpfs_without_size_omits_options():
    state = BASE.run(["make"], mounts=[TmpfsMount("/tmp")])

    mount = mounts_by_dest(single_op(state, "exec"))["/tmp"]

    assert not mount.HasField("TmpfsOpt")
    assert "exec.mount.tmpfs.size" not in metadata_of(marshal(state), "exec").caps


def test_secret_mount_carries_only_the_id():
    op = single_op(BASE.run(["cat", "/run/token"], mounts=[SecretMount("/run/token", "npm-token", uid=1000, gid=100, mode=0o440, optional=True)]), "exec")

    mount = mounts_by_dest(op)["/run/token"]
    assert mount.mountType == ops_pb2.SECRET
    assert mount.secretOpt.ID == "npm-token"
    assert mount.secretOpt.uid == 1000
    assert mount.secretOpt.gid == 100
    assert mount.secretOpt.mode == 0o440
    assert mount.secretOpt.optional is True
    assert mount.input == -1
    assert mount.output == -1
    assert {field.name for field, _ in mount.secretOpt.ListFields()} == {"ID", "uid", "gid", "mode", "optional"}


def test_secret_mount_default_mode():
    op = single_op(BASE.run(["true"], mounts=[SecretMount("/run/s", "s")]), "exec")

    assert mounts_by_dest(op)["/run/s"].secretOpt.mode == 0o400


def test_ssh_mount_fields():
    op = single_op(BASE.run(["git", "fetch"], mounts=[SSHMount("/run/agent.sock", uid=1000)]), "exec")

    mount = mounts_by_dest(op)["/run/agent.sock"]
    assert mount.mountType == ops_pb2.SSH
    assert mount.SSHOpt.ID == "default"
    assert mount.SSHOpt.uid == 1000
    assert mount.SSHOpt.mode == 0o600
    assert mount.output == -1


def mixed_mounts(order):
    mounts = {
        "out": BindMount("/z/out", State.scratch()),
        "cache": CacheMount("/a/cache"),
        "src": BindMount("/m/src", State.local("context"), readonly=True),
        "tmp": TmpfsMount("/b/tmp"),
        "dist": BindMount("/c/dist", State.local("dist")),
        "secret": SecretMount("/d/secret", "token"),
    }
    return [mounts[name] for name in order]


@pytest.mark.parametrize(
    "order",
    [
        ["out", "cache", "src", "tmp", "dist", "secret"],
        ["secret", "dist", "tmp", "src", "cache", "out"],
        ["tmp", "out", "secret", "dist", "cache", "src"],
    ],
)
def test_mount_outputs_numbered_in_target_order(order):
    state = BASE.run(["build"], mounts=mixed_mounts(order))

    op = single_op(state, "exec")

    assert [mount.dest for mount in op.exec.mounts] == ["/", "/a/cache", "/b/tmp", "/c/dist", "/d/secret", "/m/src", "/z/out"]
    assert [mount.output for mount in op.exec.mounts] == [0, -1, -1, 1, -1, -1, 2]
    assert state.get_mount("/c/dist").output.index == 1
    assert state.get_mount("/z/out").output.index == 2


def test_mount_order_does_not_change_digest():
    first = marshal(BASE.run(["build"], mounts=mixed_mounts(["out", "cache", "src", "tmp", "dist", "secret"])))
    second = marshal(BASE.run(["build"], mounts=mixed_mounts(["secret", "src", "dist", "out", "tmp", "cache"])))

    assert first.to_bytes() == second.to_bytes()


def test_get_mount_state_reads_exec_output():
    state = BASE.run(["build"], mounts=[BindMount("/out", State.local("dist"))])
    after = state.get_mount("/out").file(mkdir("/logs"))

    definition = marshal(State.scratch().run(["ls"], mounts=[BindMount("/x", state.get_mount("/out"), readonly=True)]))
    exec_digest = next(vertex.digest for vertex in definition.vertices if vertex.summary == "exec build")
    reader = [op for op in decoded_ops(definition) if op.WhichOneof("op") == "exec" and op.exec.meta.args[0] == "ls"][0]

    assert reader.inputs[0].digest == exec_digest
    assert reader.inputs[0].index == 1
    assert after.depth == state.get_mount("/out").depth + 1


def test_get_mount_depth_counts_source():
    state = BASE.run(["build"], mounts=[BindMount("/out", BASE)])

    assert state.get_mount("/out").depth == BASE.depth + 1


@pytest.mark.parametrize("target", ["/cache", "/src", "/nowhere"])
def test_get_mount_without_output_raises(target):
    state = BASE.run(["build"], mounts=[CacheMount("/cache"), BindMount("/src", State.local("c"), readonly=True)])

    with pytest.raises(ValueError, match=target):
        state.get_mount(target)


def test_identical_mount_sources_share_one_input():
    source = State.local("context")
    op = single_op(BASE.run(["ls"], mounts=[BindMount("/a", source, readonly=True), BindMount("/b", source, readonly=True)]), "exec")

    mounts = mounts_by_dest(op)
    assert len(op.inputs) == 2
    assert mounts["/a"].input == mounts["/b"].input


def test_exec_network_security_and_hosts():
    state = BASE.run(
        ["curl", "registry.local"],
        hosts={"registry.local": "127.0.0.1", "db.local": "::1"},
        hostname="builder",
        network="host",
        security="insecure",
    )

    op = single_op(state, "exec")

    assert [(host.Host, host.IP) for host in op.exec.meta.extraHosts] == [("db.local", "::1"), ("registry.local", "127.0.0.1")]
    assert op.exec.meta.hostname == "builder"
    assert op.exec.network == ops_pb2.HOST
    assert op.exec.security == ops_pb2.INSECURE


def test_exec_network_none():
    assert single_op(BASE.run(["true"], network="none"), "exec").exec.network == ops_pb2.NONE


def test_exec_proxy_secret_env_and_exit_codes():
    state = BASE.run(
        ["deploy"],
        proxy_env=ProxyEnv(http_proxy="http://proxy:3128", no_proxy="localhost"),
        secret_env=[SecretEnv("TOKEN", "deploy-token", optional=True)],
        valid_exit_codes=[0, 3],
    )

    op = single_op(state, "exec")

    assert op.exec.meta.proxy_env.http_proxy == "http://proxy:3128"
    assert op.exec.meta.proxy_env.no_proxy == "localhost"
    assert op.exec.secretenv[0].ID == "deploy-token"
    assert op.exec.secretenv[0].name == "TOKEN"
    assert op.exec.secretenv[0].optional is True
    assert list(op.exec.meta.validExitCodes) == [0, 3]


def test_exec_caps_follow_features():
    state = BASE.run(
        ["x"],
        mounts=[CacheMount("/c"), TmpfsMount("/t", size=1), SecretMount("/s", "s"), SSHMount("/a"), BindMount("/sel", BASE, path="/etc", readonly=True)],
        network="none",
        secret_env=[SecretEnv("T", "t")],
    )

    caps = set(metadata_of(marshal(state), "exec").caps)

    assert caps == {
        "exec.meta.base",
        "exec.mount.bind",
        "exec.mount.cache",
        "exec.mount.cache.sharing",
        "exec.mount.tmpfs",
        "exec.mount.tmpfs.size",
        "exec.mount.secret",
        "exec.mount.ssh",
        "exec.mount.selector",
        "exec.meta.network",
        "exec.secretenv",
    }


def test_plain_exec_declares_base_caps_only():
    caps = set(metadata_of(marshal(BASE.run(["true"])), "exec").caps)

    assert caps == {"exec.meta.base", "exec.mount.bind"}
