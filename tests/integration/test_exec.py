"""`exec` on real BuildKit: failures with their source position, defaults from the image, dir, user, hosts, network, always, long chains, cancellation."""

from __future__ import annotations

import threading
import time

import pytest

from archon.engine.run import CANCELLED, FAILED, FAILURE_LOG_LINES

from .harness import compile_folder, line_of, run_configuration, run_plan, write_configuration

pytestmark = pytest.mark.daemon

# How long a cancelled run may take to end, in seconds, counted from the cancel request.
CANCEL_SECONDS = 10


def test_failing_exec_reports_code_output_and_position(connection, tmp_path, nonce):
    config = write_configuration(tmp_path, """
        base: $up: [op.FetchContainer & {ref: "archon/busybox:latest"}]
        broken: $up: [
            op.Load & {from: base},
            op.Exec & {args: ["sh", "-c", "echo NONCE; for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do echo line-$i; done; exit 7"]}, // fails
        ]
    """, replace={"NONCE": nonce})
    line = line_of(config, "// fails")
    column = config.read_text().splitlines()[line - 1].index("op.Exec") + 1

    outcome = run_configuration(tmp_path, connection)
    failure = outcome.result.failure

    assert outcome.result.status == FAILED
    assert failure is not None
    assert failure.exit_code == 7
    assert failure.component == "broken"
    assert failure.span is not None
    assert failure.span.file == str(config)
    assert failure.span.start.line == line
    assert failure.span.start.column == column
    assert failure.log_tail == tuple(f"line-{number}" for number in range(21 - FAILURE_LOG_LINES, 21))
    assert f"  last lines of output:\n    line-{21 - FAILURE_LOG_LINES}\n" in failure.format()
    assert failure.format().startswith(f"{config}:{line}:{column}: error: broken failed with exit code 7")
    assert f"{config}:{line}:{column}: error: broken failed with exit code 7" in outcome.progress


def test_failed_run_keeps_vertex_records(connection, tmp_path, nonce):
    # The run history and the editor's vertex statuses are made from these records.
    write_configuration(tmp_path, """
        base: $up: [op.FetchContainer & {ref: "archon/busybox:latest"}]
        broken: $up: [
            op.Load & {from: base},
            op.Exec & {args: ["sh", "-c", "echo NONCE; echo last words; exit 3"]},
        ]
    """, replace={"NONCE": nonce})

    outcome = run_configuration(tmp_path, connection)
    failed = [record for record in outcome.records_of("broken") if "exec" in record.name]

    assert outcome.result.status == FAILED
    assert len(failed) == 1
    assert failed[0].exit_code == 3
    assert failed[0].error is not None
    assert failed[0].log.splitlines()[-1] == "last words"
    assert failed[0].span is not None


def test_exec_env_and_dir_come_from_image(connection, tmp_path, env_image):
    write_configuration(tmp_path, """
        app: $up: [
            op.FetchContainer & {ref: "IMAGE"},
            op.Exec & {args: ["sh", "-ec", "pwd > report.pwd; env > /report.env"]},
        ]
        pwd: {$up: [op.Load & {from: app}, op.Export & {source: "/app/report.pwd"}]} @output()
        env: {$up: [op.Load & {from: app}, op.Export & {source: "/report.env"}]} @output()
    """, replace={"IMAGE": env_image.ref})

    outcome = run_configuration(tmp_path, connection)
    assert outcome.result.succeeded, outcome.failure_text()
    environment = dict(line.split("=", 1) for line in outcome.result.exports["env"].splitlines())

    assert outcome.result.exports["pwd"] == env_image.working_dir
    assert environment["GREETING"] == "from-image"
    assert environment["KEPT"] == "kept"
    assert environment["PATH"] == env_image.path


def test_exec_env_overrides_image_env_by_key(connection, tmp_path, env_image):
    write_configuration(tmp_path, """
        app: $up: [
            op.FetchContainer & {ref: "IMAGE"},
            op.Exec & {
                args: ["sh", "-c", "env > /report.env"]
                env: {GREETING: "from-op", ADDED: "added"}
            },
        ]
        env: {$up: [op.Load & {from: app}, op.Export & {source: "/report.env"}]} @output()
    """, replace={"IMAGE": env_image.ref})

    outcome = run_configuration(tmp_path, connection)
    assert outcome.result.succeeded, outcome.failure_text()
    environment = dict(line.split("=", 1) for line in outcome.result.exports["env"].splitlines())

    assert environment["GREETING"] == "from-op"
    assert environment["ADDED"] == "added"
    assert environment["KEPT"] == "kept"
    assert environment["PATH"] == env_image.path


def test_exec_dir_user_and_hosts(connection, tmp_path, nonce):
    write_configuration(tmp_path, """
        base: $up: [op.FetchContainer & {ref: "archon/busybox:latest"}]
        probe: $up: [
            op.Load & {from: base},
            op.Exec & {
                args: ["sh", "-ec", "mkdir /tmp/report; pwd > /tmp/report/pwd; id -u > /tmp/report/uid; id -g > /tmp/report/gid; cp /etc/hosts /tmp/report/hosts; echo NONCE"]
                dir:  "/srv/site"
                user: "builder"
                hosts: "db.archon.test": "10.11.12.13"
            },
        ]
        report: {$up: [op.Load & {from: probe}, op.Subdir & {dir: "/tmp/report"}]} @output(dir="report")
    """, replace={"NONCE": nonce})

    outcome = run_configuration(tmp_path, connection)
    assert outcome.result.succeeded, outcome.failure_text()
    hosts = [line.split() for line in (tmp_path / "report" / "hosts").read_text().splitlines()]

    assert (tmp_path / "report" / "pwd").read_text() == "/srv/site\n"
    assert (tmp_path / "report" / "uid").read_text() == "1000\n"
    assert (tmp_path / "report" / "gid").read_text() == "1000\n"
    assert ["10.11.12.13", "db.archon.test"] in hosts


def _interface_names(proc_net_dev: str) -> set[str]:
    """Return the interface names listed in the text of /proc/net/dev."""
    return {line.split(":")[0].strip() for line in proc_net_dev.splitlines()[2:]}


def _exec_interfaces(connection, folder, nonce, network: str) -> set[str]:
    """Run an exec with the given network and return the interfaces it saw."""
    write_configuration(folder, """
        base: $up: [op.FetchContainer & {ref: "archon/busybox:latest"}]
        probe: $up: [
            op.Load & {from: base},
            op.Exec & {args: ["sh", "-ec", "mkdir /report; cat /proc/net/dev > /report/dev; echo NONCE"], network: "NETWORK"},
        ]
        report: {$up: [op.Load & {from: probe}, op.Subdir & {dir: "/report"}]} @output(dir="report")
    """, replace={"NONCE": nonce, "NETWORK": network})

    outcome = run_configuration(folder, connection)
    assert outcome.result.succeeded, outcome.failure_text()
    return _interface_names((folder / "report" / "dev").read_text())


def test_network_none_has_only_loopback(connection, tmp_path, nonce):
    assert _exec_interfaces(connection, tmp_path, nonce, "none") == {"lo"}


def test_network_sandbox_adds_an_interface(connection, tmp_path, nonce):
    interfaces = _exec_interfaces(connection, tmp_path, nonce, "sandbox")

    assert "lo" in interfaces
    assert len(interfaces) > 1


def test_network_host_shares_host_interfaces(connection, tmp_path, nonce):
    interfaces = _exec_interfaces(connection, tmp_path, nonce, "host")

    # The daemons run in this test's network namespace.
    with open("/proc/net/dev") as host:
        assert interfaces == _interface_names(host.read())


def test_always_reruns_while_others_are_cached(connection, tmp_path, nonce):
    write_configuration(tmp_path, """
        base: $up: [op.FetchContainer & {ref: "archon/busybox:latest"}]
        fixed: $up: [
            op.Load & {from: base},
            op.Exec & {args: ["sh", "-ec", "echo NONCE > /fixed; cat /proc/sys/kernel/random/uuid >> /fixed"]},
        ]
        stamp: $up: [
            op.Load & {from: fixed},
            op.Exec & {args: ["sh", "-c", "cat /proc/sys/kernel/random/uuid > /stamp"], always: true},
        ]
        fixedValue: {$up: [op.Load & {from: fixed}, op.Export & {source: "/fixed"}]} @output()
        stampValue: {$up: [op.Load & {from: stamp}, op.Export & {source: "/stamp"}]} @output()
    """, replace={"NONCE": nonce})

    first = run_configuration(tmp_path, connection)
    second = run_configuration(tmp_path, connection)
    first_fixed = [record.cached for record in first.records_of("fixed") if "exec" in record.name]
    fixed_exec = [record.cached for record in second.records_of("fixed") if "exec" in record.name]
    stamp_exec = [record.cached for record in second.records_of("stamp") if "exec" in record.name]

    assert first.result.succeeded, first.failure_text()
    assert second.result.succeeded, second.failure_text()
    assert first_fixed == [False]
    assert fixed_exec == [True]
    assert stamp_exec == [False]
    assert second.result.exports["fixedValue"] == first.result.exports["fixedValue"]
    assert second.result.exports["stampValue"] != first.result.exports["stampValue"]


def test_chain_of_300_execs_completes(connection, tmp_path, nonce):
    # Each exec adds an overlay layer and BuildKit rejects a mount of more
    # than 128, so this passes only when the compiler flattens the chain.
    # The first 290 execs carry no nonce, so after the first run on a
    # machine they come from the daemon's cache. The last 10 run every
    # time, on top of the whole chain: without flattening they would mount
    # about 300 layers.
    write_configuration(tmp_path, """
        base: $up: [op.FetchContainer & {ref: "archon/busybox:latest"}]
        chain: $up: list.Concat([
            [op.Load & {from: base}],
            [for i in list.Range(0, 290, 1) {op.Exec & {args: ["sh", "-c", "echo \\(i) >> /chain.txt"]}}],
            [for i in list.Range(290, 300, 1) {op.Exec & {args: ["sh", "-c", "echo \\(i) >> /chain.txt", "NONCE"]}}],
        ])
        lines: {$up: [op.Load & {from: chain}, op.Export & {source: "/chain.txt"}]} @output()
    """, imports=("list",), replace={"NONCE": nonce})

    outcome = run_configuration(tmp_path, connection, progress_mode="quiet")
    executed = [record for record in outcome.records_of("chain") if "exec" in record.name and not record.cached]
    flattens = [record for record in outcome.records_of("chain") if "flatten layers" in record.name]

    assert outcome.result.succeeded, outcome.failure_text()
    assert outcome.result.exports["lines"].splitlines() == [str(number) for number in range(300)]
    assert len(executed) >= 10
    assert len(flattens) >= 4

def test_cancel_stops_run_and_keeps_outputs(connection, tmp_path, nonce):
    write_configuration(tmp_path, """
        base: $up: [op.FetchContainer & {ref: "archon/busybox:latest"}]
        slow: $up: [
            op.Load & {from: base},
            op.Exec & {args: ["sh", "-c", "echo NONCE; sleep 30; mkdir -p /out; echo late > /out/late.txt"]},
        ]
        dist: {$up: [op.Load & {from: slow}, op.Subdir & {dir: "/out"}]} @output(dir="dist")
    """, replace={"NONCE": nonce})
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "kept.txt").write_text("from before\n")
    plan = compile_folder(tmp_path, connection)
    cancel = threading.Event()
    cancelled_at: list[float] = []

    def request_cancel() -> None:
        cancelled_at.append(time.monotonic())
        cancel.set()

    timer = threading.Timer(1.5, request_cancel)
    timer.start()
    try:
        outcome = run_plan(plan, connection, cancel_event=cancel)
    finally:
        timer.cancel()
    ended_at = time.monotonic()

    assert outcome.result.status == CANCELLED
    assert len(cancelled_at) == 1, "the run ended before the cancel request"
    assert ended_at - cancelled_at[0] < CANCEL_SECONDS
    assert nonce in outcome.progress, "the exec never started, so the cancel did not stop a running solve"
    assert [record.started is not None for record in outcome.records_of("slow")] == [True]
    assert sorted(path.name for path in dist.iterdir()) == ["kept.txt"]
    assert (dist / "kept.txt").read_text() == "from before\n"
    assert [path.name for path in tmp_path.iterdir() if ".archon-staging-" in path.name] == []
