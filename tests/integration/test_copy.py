"""The copy rule of docs/language.md on real BuildKit, one clause per case.

A file is copied to dest, or into dest keeping its name when dest ends with
"/". A directory's contents are copied into dest. A pattern copies every
match into dest under its own name, and a pattern that matches nothing is
an error.
"""

from __future__ import annotations


import pytest

from archon.engine.run import FAILED

from .harness import line_of, read_tree, run_configuration, write_configuration

pytestmark = pytest.mark.daemon

# The component every case copies from.
TREE = """
    tree: $up: [
        op.WriteFile & {dest: "/data/a.txt", content: "a NONCE"},
        op.WriteFile & {dest: "/data/b.txt", content: "b"},
        op.WriteFile & {dest: "/data/c.log", content: "c"},
        op.WriteFile & {dest: "/data/sub/d.txt", content: "d"},
        op.WriteFile & {dest: "/data/lib1/x.h", content: "x"},
        op.WriteFile & {dest: "/data/lib2/y.h", content: "y"},
    ]
"""

# Case name, copy fields, expected files of the result.
CASES = [
    ("fileToPath", 'src: "/data/a.txt", dest: "/copied/renamed.txt"', {"copied/renamed.txt": "a NONCE"}),
    ("fileIntoDir", 'src: "/data/a.txt", dest: "/copied/"', {"copied/a.txt": "a NONCE"}),
    (
        "dirContents",
        'src: "/data", dest: "/copied"',
        {
            "copied/a.txt": "a NONCE",
            "copied/b.txt": "b",
            "copied/c.log": "c",
            "copied/sub/d.txt": "d",
            "copied/lib1/x.h": "x",
            "copied/lib2/y.h": "y",
        },
    ),
    ("dirContentsTrailingSlash", 'src: "/data/sub/", dest: "/copied/"', {"copied/d.txt": "d"}),
    (
        "defaults",
        "",
        {
            "data/a.txt": "a NONCE",
            "data/b.txt": "b",
            "data/c.log": "c",
            "data/sub/d.txt": "d",
            "data/lib1/x.h": "x",
            "data/lib2/y.h": "y",
        },
    ),
    ("starPattern", 'src: "/data/*.txt", dest: "/copied"', {"copied/a.txt": "a NONCE", "copied/b.txt": "b"}),
    ("questionPattern", 'src: "/data/?.log", dest: "/copied"', {"copied/c.log": "c"}),
    ("classPattern", 'src: "/data/[ac].*", dest: "/copied/"', {"copied/a.txt": "a NONCE", "copied/c.log": "c"}),
    ("patternOfDirs", 'src: "/data/lib*", dest: "/copied"', {"copied/lib1/x.h": "x", "copied/lib2/y.h": "y"}),
]



def test_copy_rule_clauses(connection, tmp_path, nonce):
    body = TREE + "\n".join(
        f'{name}: {{$up: [op.Copy & {{from: tree, {fields}}}]}} @output(dir="out/{name}")' for name, fields, _ in CASES
    )
    write_configuration(tmp_path, body, replace={"NONCE": nonce})

    outcome = run_configuration(tmp_path, connection)

    assert outcome.result.succeeded, outcome.failure_text()
    for name, _, expected in CASES:
        expected_files = {path: content.replace("NONCE", nonce) for path, content in expected.items()}
        assert read_tree(tmp_path / "out" / name) == expected_files, name


def test_copy_onto_existing_files(connection, tmp_path, nonce):
    # A copy adds to the file system it lands on: files outside dest stay, a file at dest is replaced.
    write_configuration(tmp_path, TREE + """
        merged: {
            $up: [
                op.WriteFile & {dest: "/keep.txt", content: "kept"},
                op.WriteFile & {dest: "/copied/b.txt", content: "old"},
                op.Copy & {from: tree, src: "/data/*.txt", dest: "/copied/"},
            ]
        } @output(dir="out")
    """, replace={"NONCE": nonce})

    outcome = run_configuration(tmp_path, connection)

    assert outcome.result.succeeded, outcome.failure_text()
    assert read_tree(tmp_path / "out") == {"keep.txt": "kept", "copied/a.txt": f"a {nonce}", "copied/b.txt": "b"}


def test_copy_pattern_matching_nothing_fails(connection, tmp_path, nonce):
    config = write_configuration(tmp_path, TREE + """
        empty: {
            $up: [
                op.Copy & {from: tree, src: "/data/*.md", dest: "/copied/"}, // matches nothing
            ]
        } @output(dir="out")
    """, replace={"NONCE": nonce})

    outcome = run_configuration(tmp_path, connection)
    failure = outcome.result.failure

    assert outcome.result.status == FAILED
    assert failure is not None
    assert failure.component == "empty"
    assert failure.span is not None
    assert failure.span.start.line == line_of(config, "// matches nothing")
    assert "/data/*.md" in failure.message
    assert not (tmp_path / "out").exists()
