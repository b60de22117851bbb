"""The compiler: every op and mount kind, asserted on the decoded definition."""

from __future__ import annotations

import pytest

from archon.runtime.compiler import compile_configuration
from archon.runtime.diagnostics import ConfigError
from archon.runtime.llb import FLATTEN_DEPTH
from archon.runtime.llb.pb import ops_pb2

from compile_helpers import component_op, compile_folder, decode, load_config, ops_of_kind, source_identifiers, write_config

BASE = 'base: $up: [op.FetchContainer & {ref: "archon/busybox:latest"}]\n'


def exec_of(plan, component):
    decoded = component_op(plan, component)
    assert decoded.kind == "exec"
    return decoded


def test_fetch_container_source(tmp_path):
    write_config(tmp_path, BASE)

    plan = compile_folder(tmp_path)

    assert source_identifiers(plan) == ["docker-image://docker.io/archon/busybox:latest"]


def test_fetch_git_source(tmp_path):
    write_config(tmp_path, 'repo: $up: [op.FetchGit & {remote: "git://127.0.0.1:9418/app.git", ref: "v1", keepGitDir: true}]\n')

    plan = compile_folder(tmp_path)
    source = component_op(plan, "repo").op.source

    assert source.identifier.startswith("git://127.0.0.1:9418/app.git#v1")
    assert source.attrs["git.keepgitdir"] == "true"


def test_fetch_http_source(tmp_path):
    checksum = "sha256:" + "a" * 64
    write_config(tmp_path, f'file: $up: [op.FetchHTTP & {{url: "http://127.0.0.1:8000/tool.tgz", checksum: "{checksum}", filename: "tool.tgz", mode: 0o755}}]\n')

    plan = compile_folder(tmp_path)
    source = component_op(plan, "file").op.source

    assert source.identifier == "http://127.0.0.1:8000/tool.tgz"
    assert source.attrs["http.checksum"] == checksum
    assert source.attrs["http.filename"] == "tool.tgz"
    assert source.attrs["http.perm"] == "0755" or source.attrs["http.perm"] == str(0o755)


def test_local_source_with_patterns(tmp_path):
    (tmp_path / "src").mkdir()
    write_config(tmp_path, 'src: $up: [op.Local & {dir: "src", include: ["*.c"], exclude: ["build"]}]\n')

    plan = compile_folder(tmp_path)
    source = component_op(plan, "src").op.source
    (local,) = plan.local_sources.values()

    assert source.identifier == f"local://{local.name}"
    assert local.path == str((tmp_path / "src").resolve())
    assert '"*.c"' in source.attrs["local.includepattern"]
    assert '"build"' in source.attrs["local.excludepatterns"]


def test_load_is_an_edge_not_a_copy(tmp_path):
    write_config(tmp_path, BASE + 'app: $up: [op.Load & {from: base}, op.Exec & {args: ["true"]}]\n')

    plan = compile_folder(tmp_path)
    exec_op = exec_of(plan, "app")

    assert exec_op.op.inputs[0].digest == plan.components["base"].digest
    assert [(edge.source, edge.target) for edge in plan.edges] == [("app", "base")]
    assert plan.components["app"].dependencies == ("base",)


def test_exec_fields(tmp_path):
    write_config(
        tmp_path,
        BASE
        + """
        app: $up: [
            op.Load & {from: base},
            op.Exec & {
                args: ["sh", "-c", "echo hi"]
                env: {GREETING: "hi", PATH: "/custom/bin"}
                dir: "/work"
                user: "1000:1000"
                hosts: "registry.local": "127.0.0.1"
            },
        ]
        """,
    )

    plan = compile_folder(tmp_path)
    meta = exec_of(plan, "app").op.exec.meta

    assert list(meta.args) == ["sh", "-c", "echo hi"]
    assert "GREETING=hi" in meta.env
    assert "PATH=/custom/bin" in meta.env
    assert meta.cwd == "/work"
    assert meta.user == "1000:1000"
    assert [(host.Host, host.IP) for host in meta.extraHosts] == [("registry.local", "127.0.0.1")]


def test_exec_defaults_without_resolver(tmp_path):
    write_config(tmp_path, BASE + 'app: $up: [op.Load & {from: base}, op.Exec & {args: ["true"]}]\n')

    plan = compile_folder(tmp_path)
    meta = exec_of(plan, "app").op.exec.meta

    assert any(entry.startswith("PATH=") for entry in meta.env)
    assert meta.cwd == "/"


def test_exec_image_config_overridden_key_by_key(tmp_path):
    from archon.runtime.llb import ImageConfig
    from archon.runtime.resolve import ResolvedImage

    class Resolver:
        def resolve(self, ref):
            return ResolvedImage(ImageConfig(env=("PATH=/image/bin", "LANG=C.UTF-8"), working_dir="/srv", user="builder"), layers=3)

    write_config(tmp_path, BASE + 'app: $up: [op.Load & {from: base}, op.Exec & {args: ["true"], env: LANG: "en_US.UTF-8"}]\n')
    configuration = load_config(tmp_path)

    plan = compile_configuration(configuration, resolver=Resolver())
    meta = exec_of(plan, "app").op.exec.meta

    assert "PATH=/image/bin" in meta.env
    assert "LANG=en_US.UTF-8" in meta.env
    assert "LANG=C.UTF-8" not in meta.env
    assert meta.cwd == "/srv"
    assert meta.user == "builder"


def test_always_sets_ignore_cache(tmp_path):
    write_config(tmp_path, BASE + 'app: $up: [op.Load & {from: base}, op.Exec & {args: ["date"], always: true}]\n')

    plan = compile_folder(tmp_path)

    assert exec_of(plan, "app").metadata.ignore_cache is True


@pytest.mark.parametrize(("network", "mode"), [("none", ops_pb2.NONE), ("host", ops_pb2.HOST), ("sandbox", ops_pb2.UNSET)])
def test_exec_network_mode(tmp_path, network, mode):
    write_config(tmp_path, BASE + f'app: $up: [op.Load & {{from: base}}, op.Exec & {{args: ["true"], network: "{network}"}}]\n')

    plan = compile_folder(tmp_path)

    assert exec_of(plan, "app").op.exec.network == mode
    assert plan.entitlements == (("network.host",) if network == "host" else ())


def test_exec_network_defaults_to_sandbox(tmp_path):
    write_config(tmp_path, BASE + 'app: $up: [op.Load & {from: base}, op.Exec & {args: ["true"]}]\n')

    plan = compile_folder(tmp_path)

    assert exec_of(plan, "app").op.exec.network == ops_pb2.UNSET
    assert plan.entitlements == ()


def test_mount_kinds(tmp_path):
    write_config(
        tmp_path,
        BASE
        + """
        token: op.#Secret @input()
        data: $up: [op.Load & {from: base}, op.Exec & {args: ["mkdir", "-p", "/out/lib"]}]
        app: $up: [
            op.Load & {from: base},
            op.Exec & {
                args: ["true"]
                mount: {
                    "/tmp": "tmpfs"
                    "/scratch": {type: "tmpfs", size: 1048576}
                    "/cache": {type: "cache", id: "go", sharing: "locked"}
                    "/plain-cache": "cache"
                    "/data": {from: data}
                    "/lib": {from: data, path: "/out/lib"}
                    "/run/token": {secret: token}
                    "/run/agent.sock": {socket: "default"}
                }
            },
        ]
        """,
    )

    plan = compile_folder(tmp_path, extra_files={"inputs.cue": 'package main\ntoken: secret: "token-id"\n'})
    exec_op = exec_of(plan, "app")
    mounts = {mount.dest: mount for mount in exec_op.op.exec.mounts}
    inputs = exec_op.op.inputs

    assert list(mounts) == sorted(mounts, key=lambda dest: (dest != "/", dest))
    assert mounts["/"].output == 0
    assert mounts["/tmp"].mountType == ops_pb2.TMPFS
    assert mounts["/tmp"].output == -1
    assert mounts["/scratch"].TmpfsOpt.size == 1048576
    assert mounts["/cache"].mountType == ops_pb2.CACHE
    assert mounts["/cache"].cacheOpt.ID == "go"
    assert mounts["/cache"].cacheOpt.sharing == ops_pb2.LOCKED
    assert mounts["/plain-cache"].cacheOpt.sharing == ops_pb2.SHARED
    assert mounts["/data"].readonly is True
    assert mounts["/data"].output == -1
    assert inputs[mounts["/data"].input].digest == plan.components["data"].digest
    assert mounts["/lib"].selector == "/out/lib"
    assert mounts["/run/token"].mountType == ops_pb2.SECRET
    assert mounts["/run/token"].secretOpt.ID == "token-id"
    assert mounts["/run/agent.sock"].mountType == ops_pb2.SSH
    assert mounts["/run/agent.sock"].SSHOpt.ID == "default"
    assert plan.secrets == ("token-id",)


def test_copy_rule(tmp_path):
    write_config(
        tmp_path,
        BASE
        + """
        files: $up: [op.Load & {from: base}, op.Exec & {args: ["true"]}]
        app: $up: [
            op.Load & {from: base},
            op.Copy & {from: files, src: "/etc", dest: "/copied/"},
        ]
        wild: $up: [
            op.Load & {from: base},
            op.Copy & {from: files, src: "/etc/*.conf", dest: "/conf"},
        ]
        """,
    )

    plan = compile_folder(tmp_path)
    plain = component_op(plan, "app").op.file.actions[0].copy
    wildcard = component_op(plan, "wild").op.file.actions[0].copy

    assert plain.src == "/etc"
    assert plain.dest == "/copied/"
    assert plain.dirCopyContents is True
    assert plain.createDestPath is True
    assert plain.allowWildcard is False
    assert wildcard.allowWildcard is True
    assert wildcard.allowEmptyWildcard is False
    assert wildcard.dest == "/conf/"


def test_file_ops(tmp_path):
    write_config(
        tmp_path,
        BASE
        + """
        app: $up: [
            op.Load & {from: base},
            op.Mkdir & {path: "/a/b", mode: 0o700},
            op.WriteFile & {dest: "/a/b/c.txt", content: "hello", mode: 0o600},
            op.Workdir & {path: "/w"},
            op.Exec & {args: ["pwd"]},
        ]
        sub: $up: [op.Load & {from: app}, op.Subdir & {dir: "/a"}]
        """,
    )

    plan = compile_folder(tmp_path)
    file_ops = ops_of_kind(plan, "file")
    actions = [action for item in file_ops for action in item.op.file.actions]
    mkdirs = [action.mkdir for action in actions if action.WhichOneof("action") == "mkdir"]
    mkfiles = [action.mkfile for action in actions if action.WhichOneof("action") == "mkfile"]
    subdir_copy = component_op(plan, "sub").op.file.actions[0].copy

    assert any(item.path == "/a/b" and item.mode == 0o700 and item.makeParents for item in mkdirs)
    assert any(item.path == "/w" for item in mkdirs)
    assert mkfiles[0].path == "/a/b/c.txt"
    assert mkfiles[0].data == b"hello"
    assert mkfiles[0].mode == 0o600
    assert exec_of(plan, "app").op.exec.meta.cwd == "/w"
    assert subdir_copy.src == "/a"
    assert subdir_copy.dest == "/"
    assert component_op(plan, "sub").op.inputs[0].digest == ""  or component_op(plan, "sub").op.file.actions[0].input == -1


def test_export_and_directory_outputs_in_bundle(tmp_path):
    write_config(
        tmp_path,
        BASE
        + """
        build: $up: [op.Load & {from: base}, op.Exec & {args: ["sh", "-c", "echo 1.0 > /v"]}]
        version: {$up: [op.Load & {from: build}, op.Export & {source: "/v", format: "string"}]} @output()
        dist: {$up: [op.Load & {from: build}]} @output(dir="out")
        """,
    )

    plan = compile_folder(tmp_path)
    bundle = decode(plan)[plan.root]
    copies = {action.copy.dest: action.copy for action in bundle.op.file.actions}

    assert [item.name for item in plan.exports] == ["version"]
    assert plan.exports[0].path == "/exports/version"
    assert copies["/exports/version"].src == "/v"
    assert [item.destination for item in plan.directories] == [str((tmp_path / "out").resolve())]
    assert copies["/dirs/dist/"].dirCopyContents is True


def test_leaf_components_are_forced_into_the_solve(tmp_path):
    write_config(tmp_path, BASE + 'test: $up: [op.Load & {from: base}, op.Exec & {args: ["make", "test"]}]\n')

    plan = compile_folder(tmp_path)
    bundle = decode(plan)[plan.root]
    (action,) = bundle.op.file.actions

    assert bundle.op.inputs[action.secondaryInput].digest == plan.components["test"].digest
    assert action.copy.allowEmptyWildcard is True


def test_image_outputs(tmp_path):
    write_config(
        tmp_path,
        BASE
        + """
        pushed: $up: [op.Load & {from: base}, op.PushContainer & {ref: "127.0.0.1:5000/app:1"}]
        saved: $up: [op.Load & {from: base}, op.SaveImage & {tag: "app:1"}]
        """,
    )

    plan = compile_folder(tmp_path)
    images = {image.name: image for image in plan.images}

    assert images["pushed"].push is True
    assert images["pushed"].ref == "127.0.0.1:5000/app:1"
    assert images["saved"].push is False
    assert ops_pb2.Definition.FromString(images["saved"].definition).metadata


def test_docker_build_translated_into_the_graph(tmp_path):
    (tmp_path / "ctx").mkdir()
    write_config(
        tmp_path,
        """
        ctx: $up: [op.Local & {dir: "ctx"}]
        image: $up: [op.DockerBuild & {
            context: ctx
            dockerfile: \"\"\"
                ARG VERSION=1
                FROM archon/busybox:latest AS build
                ENV A=1 B=two
                WORKDIR /src
                COPY . .
                RUN echo $VERSION > v
                FROM archon/busybox:latest
                USER builder
                COPY --from=build /src/v /v
                CMD ["cat", "/v"]
                \"\"\"
        }]
        """,
    )

    plan = compile_folder(tmp_path)
    execs = ops_of_kind(plan, "exec")
    final = component_op(plan, "image")

    assert len(execs) == 1
    assert "A=1" in execs[0].op.exec.meta.env
    assert "B=two" in execs[0].op.exec.meta.env
    assert execs[0].op.exec.meta.cwd == "/src"
    assert final.op.file.actions[0].copy.src == "/src/v"
    assert len(plan.definition) > 0


def test_docker_build_unsupported_instruction(tmp_path):
    write_config(tmp_path, 'image: $up: [op.DockerBuild & {dockerfile: "FROM archon/busybox\\nHEALTHCHECK NONE\\nVOLUME /x\\nMAINTAINER me\\nONBUILD RUN x\\nEXPOSE 80\\nSTOPSIGNAL 9\\nSHELL [\\"sh\\"]\\nFOO bar\\n"}]\n')
    configuration = load_config(tmp_path)

    with pytest.raises(ConfigError) as raised:
        compile_configuration(configuration)

    (diagnostic,) = raised.value.diagnostics
    assert "FOO" in diagnostic.message
    assert "line 9" in diagnostic.message


def test_same_digests_whatever_the_field_order(tmp_path):
    first = tmp_path / "first"
    second = tmp_path / "second"
    write_config(first, BASE + 'app: $up: [op.Load & {from: base}, op.Exec & {args: ["true"], env: {A: "1", B: "2"}, dir: "/x"}]\n')
    write_config(second, 'app: $up: [op.Load & {from: base}, op.Exec & {dir: "/x", env: {B: "2", A: "1"}, args: ["true"]}]\n' + BASE)

    first_plan = compile_folder(first)
    second_plan = compile_folder(second)

    assert sorted(decode(first_plan)) == sorted(decode(second_plan))
    assert first_plan.root == second_plan.root


def test_identical_components_share_one_vertex(tmp_path):
    write_config(
        tmp_path,
        BASE
        + """
        one: $up: [op.Load & {from: base}, op.Exec & {args: ["make"]}]
        two: $up: [op.Load & {from: base}, op.Exec & {args: ["make"]}]
        """,
    )

    plan = compile_folder(tmp_path)

    assert plan.components["one"].digest == plan.components["two"].digest
    assert len(ops_of_kind(plan, "exec")) == 1


def test_long_chain_is_flattened(tmp_path):
    write_config(
        tmp_path,
        BASE
        + """
        import "list"
        chain: $up: [op.Load & {from: base}, for i in list.Range(0, 300, 1) {op.Exec & {args: ["sh", "-c", "echo \\(i) >> /log"]}}]
        """.replace('import "list"\n', ""),
        header='package main\n\nimport (\n\t"list"\n\t"archon.dev/op"\n)\n\n',
    )

    plan = compile_folder(tmp_path)
    decoded = decode(plan)
    depth: dict[str, int] = {}

    def depth_of(digest: str) -> int:
        if digest not in depth:
            item = decoded[digest]
            parents = [depth_of(entry.digest) for entry in item.op.inputs[:1]]
            flattening = item.kind == "file" and item.op.file.actions[0].input == -1
            depth[digest] = 1 if flattening or not parents else parents[0] + 1
        return depth[digest]

    assert len(ops_of_kind(plan, "exec")) == 300
    assert max(depth_of(item.digest) for item in ops_of_kind(plan, "exec")) <= FLATTEN_DEPTH + 1
