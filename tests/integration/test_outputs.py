"""Outputs on real BuildKit: directory outputs, value outputs in each format, and outputs kept after a failure."""

from __future__ import annotations

import os
import stat

import pytest

from archon.engine.run import FAILED

from .harness import read_tree, run_configuration, write_configuration

pytestmark = pytest.mark.daemon

PRODUCER = """
    base: $up: [op.FetchContainer & {ref: "archon/busybox:latest"}]
    made: $up: [
        op.Load & {from: base},
        op.Exec & {args: ["sh", "-ec", "mkdir -p /out/site/css; echo NONCE > /out/site/index.html; echo 'a{}' > /out/site/css/a.css; printf '#!/bin/sh\\\\necho run\\\\n' > /out/site/run.sh; chmod 755 /out/site/run.sh"]},
        op.Exec & {args: ["sh", "-ec", "printf '  padded NONCE  \\\\n\\\\n' > /out/text; printf '{\\"replicas\\": 3, \\"tags\\": [\\"a\\", \\"b\\"]}' > /out/data.json; printf 'name: app\\\\nports:\\\\n  - 80\\\\n' > /out/data.yaml"]},
    ]
    site: {$up: [op.Load & {from: made}, op.Subdir & {dir: "/out/site"}]} @output(dir="dist/site")
    text: {$up: [op.Load & {from: made}, op.Export & {source: "/out/text", format: "string"}]} @output()
    data: {$up: [op.Load & {from: made}, op.Export & {source: "/out/data.json", format: "json"}]} @output()
    manifest: {$up: [op.Load & {from: made}, op.Export & {source: "/out/data.yaml", format: "yaml"}]} @output()
"""



def test_directory_output_holds_exec_files(connection, tmp_path, nonce):
    write_configuration(tmp_path, PRODUCER, replace={"NONCE": nonce})

    outcome = run_configuration(tmp_path, connection)
    assert outcome.result.succeeded, outcome.failure_text()
    site = tmp_path / "dist" / "site"

    assert read_tree(site) == {
        "index.html": f"{nonce}\n",
        "css/a.css": "a{}\n",
        "run.sh": "#!/bin/sh\necho run\n",
    }
    assert stat.S_IMODE(os.stat(site / "run.sh").st_mode) == 0o755
    assert ("site", "directory", str(site)) in [(item.name, item.kind, item.location) for item in outcome.result.outputs]


def test_value_outputs_in_each_format(connection, tmp_path, nonce):
    write_configuration(tmp_path, PRODUCER, replace={"NONCE": nonce})

    outcome = run_configuration(tmp_path, connection)
    assert outcome.result.succeeded, outcome.failure_text()
    exports = outcome.result.exports

    assert exports["text"] == f"padded {nonce}"
    assert exports["data"] == {"replicas": 3, "tags": ["a", "b"]}
    assert exports["manifest"] == {"name": "app", "ports": [80]}


def test_failed_run_keeps_previous_outputs(connection, tmp_path, nonce):
    write_configuration(tmp_path, PRODUCER, replace={"NONCE": nonce})
    first = run_configuration(tmp_path, connection)
    assert first.result.succeeded, first.failure_text()
    before = read_tree(tmp_path / "dist")

    # The same outputs, but the exec that feeds them now fails after writing new files.
    broken = PRODUCER.replace('chmod 755 /out/site/run.sh"', 'chmod 755 /out/site/run.sh; echo changed > /out/site/index.html; exit 3"')
    write_configuration(tmp_path, broken, replace={"NONCE": nonce})
    second = run_configuration(tmp_path, connection)

    assert second.result.status == FAILED
    assert second.result.failure.exit_code == 3
    assert second.result.exports == {}
    assert read_tree(tmp_path / "dist") == before
    assert [name for name in os.listdir(tmp_path / "dist") if ".archon-staging-" in name] == []
