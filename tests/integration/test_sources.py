"""Sources and file ops on real BuildKit: local, fetch-git, write-file, mkdir, subdir, workdir."""

from __future__ import annotations

import pytest

from archon.engine.run import FAILED

from .harness import line_of, read_tree, run_configuration, write_configuration

pytestmark = pytest.mark.daemon

PROJECT_FILES = {
    "project/a.txt": "a NONCE",
    "project/b.md": "b",
    "project/secret.txt": "not sent",
    "project/keep/c.txt": "c",
    "project/keep/e.md": "e",
    "project/skip/d.txt": "d",
    "project/build/app.o": "object",
}


def project_files(nonce: str) -> dict[str, str]:
    return {path: content.replace("NONCE", nonce) for path, content in PROJECT_FILES.items()}


def test_local_include_and_exclude(connection, tmp_path, nonce):
    write_configuration(tmp_path, """
        selected: {
            $up: [op.Local & {dir: "project", include: ["*.txt", "keep"], exclude: ["secret.txt"]}]
        } @output(dir="out/selected")
        trimmed: {
            $up: [op.Local & {dir: "project", exclude: ["build", "**/*.md"]}]
        } @output(dir="out/trimmed")
    """, files=project_files(nonce))

    outcome = run_configuration(tmp_path, connection)

    assert outcome.result.succeeded, outcome.failure_text()
    assert read_tree(tmp_path / "out" / "selected") == {"a.txt": f"a {nonce}", "keep/c.txt": "c", "keep/e.md": "e"}
    assert read_tree(tmp_path / "out" / "trimmed") == {
        "a.txt": f"a {nonce}",
        "secret.txt": "not sent",
        "keep/c.txt": "c",
        "skip/d.txt": "d",
    }


def test_local_change_is_seen_by_next_run(connection, tmp_path, nonce):
    write_configuration(tmp_path, """
        copy: {$up: [op.Local & {dir: "project"}]} @output(dir="out")
    """, files={"project/value.txt": f"first {nonce}"})
    first = run_configuration(tmp_path, connection)
    (tmp_path / "project" / "value.txt").write_text(f"second {nonce}")

    second = run_configuration(tmp_path, connection)

    assert first.result.succeeded, first.failure_text()
    assert second.result.succeeded, second.failure_text()
    assert read_tree(tmp_path / "out") == {"value.txt": f"second {nonce}"}


def test_fetch_git_branch_tag_and_git_dir(connection, tmp_path, nonce, git_server):
    remote = git_server.add(f"app-{connection.backend}-{nonce}.git", {"README": nonce, "src/main.c": "int main;"}, tag="v1.0")
    write_configuration(tmp_path, """
        branch: {$up: [op.FetchGit & {remote: "REMOTE", ref: "main"}]} @output(dir="out/branch")
        tag: {$up: [op.FetchGit & {remote: "REMOTE", ref: "v1.0"}]} @output(dir="out/tag")
        withGit: {$up: [op.FetchGit & {remote: "REMOTE", ref: "main", keepGitDir: true}]} @output(dir="out/withGit")
    """, replace={"REMOTE": remote})
    expected = {"README": nonce, "src/main.c": "int main;"}

    outcome = run_configuration(tmp_path, connection)

    assert outcome.result.succeeded, outcome.failure_text()
    assert read_tree(tmp_path / "out" / "branch") == expected
    assert read_tree(tmp_path / "out" / "tag") == expected
    assert not (tmp_path / "out" / "branch" / ".git").exists()
    assert (tmp_path / "out" / "withGit" / ".git" / "HEAD").is_file()
    assert (tmp_path / "out" / "withGit" / "README").read_text() == nonce


def test_fetch_git_default_ref(connection, tmp_path, nonce, git_server, request):
    if connection.backend == "buildkitd":
        request.applymarker(pytest.mark.xfail(
            strict=True,
            reason="the compiler sends ref HEAD for the default branch, which buildkitd v0.26 rejects "
            "(`repository does not contain ref HEAD`) while it takes an empty ref as the default branch; "
            "Docker 20.10's BuildKit needs HEAD, because it reads an empty ref as master, so no single "
            "ref in the definition serves both daemons",
        ))
    remote = git_server.add(f"head-{connection.backend}-{nonce}.git", {"README": nonce})
    write_configuration(tmp_path, """
        head: {$up: [op.FetchGit & {remote: "REMOTE"}]} @output(dir="out")
    """, replace={"REMOTE": remote})

    outcome = run_configuration(tmp_path, connection)

    assert outcome.result.succeeded, outcome.failure_text()
    assert read_tree(tmp_path / "out") == {"README": nonce}


def test_write_file_and_mkdir(connection, tmp_path, nonce):
    write_configuration(tmp_path, """
        base: $up: [op.FetchContainer & {ref: "archon/busybox:latest"}]
        files: $up: [
            op.Load & {from: base},
            op.WriteFile & {dest: "/etc/app/deep/config.ini", content: "key=NONCE\\n", mode: 0o640},
            op.WriteFile & {dest: "/plain.txt", content: "plain"},
            op.Mkdir & {path: "/var/data/a/b", mode: 0o750},
            op.Exec & {args: ["sh", "-ec", "stat -c '%n %a %F' /etc/app/deep/config.ini /plain.txt /var/data/a/b > /modes; cat /etc/app/deep/config.ini > /content"]},
        ]
        modes: {$up: [op.Load & {from: files}, op.Export & {source: "/modes"}]} @output()
        content: {$up: [op.Load & {from: files}, op.Export & {source: "/content"}]} @output()
    """, replace={"NONCE": nonce})

    outcome = run_configuration(tmp_path, connection)

    assert outcome.result.succeeded, outcome.failure_text()
    assert outcome.result.exports["modes"].splitlines() == [
        "/etc/app/deep/config.ini 640 regular file",
        "/plain.txt 644 regular file",
        "/var/data/a/b 750 directory",
    ]
    assert outcome.result.exports["content"] == f"key={nonce}"


def test_modes_with_group_and_other_write(connection, tmp_path, nonce, request):
    if connection.backend == "docker":
        request.applymarker(pytest.mark.xfail(
            strict=True,
            reason="Docker 20.10's BuildKit creates the files of write-file and mkdir under dockerd's umask 022, "
            "so 0o666 becomes 0o644 and 0o777 becomes 0o755; buildkitd v0.26 sets the mode exactly",
        ))
    write_configuration(tmp_path, """
        base: $up: [op.FetchContainer & {ref: "archon/busybox:latest"}]
        files: $up: [
            op.Load & {from: base},
            op.WriteFile & {dest: "/shared.txt", content: "NONCE", mode: 0o666},
            op.Mkdir & {path: "/drop", mode: 0o777},
            op.Exec & {args: ["sh", "-ec", "stat -c '%n %a' /shared.txt /drop > /modes"]},
        ]
        modes: {$up: [op.Load & {from: files}, op.Export & {source: "/modes"}]} @output()
    """, replace={"NONCE": nonce})

    outcome = run_configuration(tmp_path, connection)

    assert outcome.result.succeeded, outcome.failure_text()
    assert outcome.result.exports["modes"].splitlines() == ["/shared.txt 666", "/drop 777"]


def test_mkdir_without_parents_fails_on_missing_parent(connection, tmp_path, nonce):
    config = write_configuration(tmp_path, """
        dirs: {
            $up: [
                op.WriteFile & {dest: "/marker", content: "NONCE"},
                op.Mkdir & {path: "/missing/child", parents: false}, // no parent
            ]
        } @output(dir="out")
    """, replace={"NONCE": nonce})

    outcome = run_configuration(tmp_path, connection)
    failure = outcome.result.failure

    assert outcome.result.status == FAILED
    assert failure is not None
    assert failure.component == "dirs"
    assert failure.span is not None
    assert failure.span.start.line == line_of(config, "// no parent")
    assert "/missing/child" in failure.message


def test_subdir_keeps_only_the_directory(connection, tmp_path, nonce):
    write_configuration(tmp_path, """
        base: $up: [op.FetchContainer & {ref: "archon/busybox:latest"}]
        built: $up: [
            op.Load & {from: base},
            op.Exec & {args: ["sh", "-ec", "mkdir -p /out/sub; echo NONCE > /out/a; echo b > /out/sub/b; echo other > /other"]},
        ]
        dist: {$up: [op.Load & {from: built}, op.Subdir & {dir: "/out"}]} @output(dir="dist")
        nested: {$up: [op.Load & {from: built}, op.Subdir & {dir: "/out/sub"}]} @output(dir="nested")
    """, replace={"NONCE": nonce})

    outcome = run_configuration(tmp_path, connection)

    assert outcome.result.succeeded, outcome.failure_text()
    assert read_tree(tmp_path / "dist") == {"a": f"{nonce}\n", "sub/b": "b\n"}
    assert read_tree(tmp_path / "nested") == {"b": "b\n"}


def test_workdir_sets_later_exec_directory(connection, tmp_path, nonce):
    write_configuration(tmp_path, """
        base: $up: [op.FetchContainer & {ref: "archon/busybox:latest"}]
        work: $up: [
            op.Load & {from: base},
            op.Workdir & {path: "/work/here"},
            op.Exec & {args: ["sh", "-ec", "pwd > /pwd; echo NONCE > relative.txt"]},
            op.Exec & {args: ["sh", "-ec", "pwd > /pwd-later"]},
        ]
        pwd: {$up: [op.Load & {from: work}, op.Export & {source: "/pwd"}]} @output()
        later: {$up: [op.Load & {from: work}, op.Export & {source: "/pwd-later"}]} @output()
        relative: {$up: [op.Load & {from: work}, op.Export & {source: "/work/here/relative.txt"}]} @output()
    """, replace={"NONCE": nonce})

    outcome = run_configuration(tmp_path, connection)

    assert outcome.result.succeeded, outcome.failure_text()
    assert outcome.result.exports["pwd"] == "/work/here"
    assert outcome.result.exports["later"] == "/work/here"
    assert outcome.result.exports["relative"] == nonce
