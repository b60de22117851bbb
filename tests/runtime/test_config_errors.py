"""Each kind of configuration error, with its exact line:col and fix."""

from __future__ import annotations

import pytest

from archon.runtime.compiler import compile_configuration
from archon.runtime.diagnostics import ConfigError, Severity

from compile_helpers import load_config, write_config

BASE = 'base: $up: [op.FetchContainer & {ref: "archon/busybox:latest"}]\n'
# write_config's header takes four lines, so the body starts on line 5.
FIRST_LINE = 5
# A header of the same length that imports nothing, for bodies that use no op definition.
PLAIN = "package main\n\n\n\n"


def errors(configuration, code=None):
    found = [d for d in configuration.diagnostics if d.severity == Severity.ERROR]
    return [d for d in found if code is None or d.code == code]


def position(diagnostic) -> tuple[int, int]:
    return diagnostic.span.start.line, diagnostic.span.start.column


def test_unknown_op_suggests_a_name(tmp_path):
    write_config(tmp_path, BASE + 'app: $up: [{do: "exce", args: ["true"]}]\n')

    (diagnostic,) = errors(load_config(tmp_path), "unknown-op")

    assert 'unknown op "exce"' in diagnostic.message
    assert diagnostic.hint == 'did you mean "exec"?'
    assert position(diagnostic) == (FIRST_LINE + 1, 13)


def test_unknown_exec_network_suggests_a_mode(tmp_path):
    write_config(tmp_path, BASE + 'app: $up: [{do: "load", from: base}, {do: "exec", args: ["true"], network: "nnone"}]\n')

    (diagnostic,) = errors(load_config(tmp_path), "invalid-value")

    assert 'unknown exec network "nnone"' in diagnostic.message
    assert diagnostic.hint == 'did you mean "none"?'
    assert diagnostic.span.start.line == FIRST_LINE + 1


def test_op_written_for_do(tmp_path):
    write_config(tmp_path, BASE + 'app: $up: [{op: "exec", args: ["true"]}]\n')

    (diagnostic,) = errors(load_config(tmp_path), "unknown-op")

    assert "did you mean `do`" in diagnostic.message
    assert position(diagnostic) == (FIRST_LINE + 1, 13)


def test_missing_required_field(tmp_path):
    write_config(tmp_path, 'app: $up: [{do: "fetch-container"}]\n', header=PLAIN)

    (diagnostic,) = errors(load_config(tmp_path), "missing-field")

    assert "`ref`" in diagnostic.message
    assert position(diagnostic) == (FIRST_LINE, 12)


def test_mistyped_field(tmp_path):
    write_config(tmp_path, BASE + 'app: $up: [{do: "load", from: base}, {do: "mkdir", path: 3}]\n')

    (diagnostic,) = errors(load_config(tmp_path), "invalid-type")

    assert "`path`" in diagnostic.message
    assert "the number 3" in diagnostic.message
    assert position(diagnostic) == (FIRST_LINE + 1, 52)


def test_unknown_field_suggests_a_name(tmp_path):
    write_config(tmp_path, BASE + 'app: $up: [{do: "load", from: base}, {do: "exec", arg: ["true"]}]\n')

    configuration = load_config(tmp_path)
    (unknown,) = errors(configuration, "unknown-field")

    assert unknown.hint == "did you mean `args`?"
    assert position(unknown) == (FIRST_LINE + 1, 51)


def test_reference_to_a_non_component(tmp_path):
    write_config(tmp_path, 'settings: {level: 1}\napp: $up: [{do: "load", from: settings}]\n', header=PLAIN)

    (diagnostic,) = errors(load_config(tmp_path), "invalid-type")

    assert "component" in diagnostic.message
    assert position(diagnostic) == (FIRST_LINE + 1, 25)


def test_cycle_named_component_by_component(tmp_path):
    write_config(
        tmp_path,
        """
        a: $up: [{do: "load", from: b}]
        b: $up: [{do: "load", from: c}]
        c: $up: [{do: "load", from: a}]
        """,
        header=PLAIN,
    )

    (diagnostic,) = errors(load_config(tmp_path), "cycle")

    assert diagnostic.message == "cycle between components: a -> b -> c -> a"
    assert position(diagnostic) == (FIRST_LINE, 29)
    assert [info.span.start.line for info in diagnostic.related] == [FIRST_LINE, FIRST_LINE + 1, FIRST_LINE + 2]


def test_exec_with_empty_args(tmp_path):
    write_config(tmp_path, BASE + 'app: $up: [{do: "load", from: base}, {do: "exec", args: []}]\n')

    (diagnostic,) = errors(load_config(tmp_path), "empty-args")

    assert "empty args" in diagnostic.message
    assert position(diagnostic) == (FIRST_LINE + 1, 51)


def test_two_mounts_on_one_target(tmp_path):
    write_config(
        tmp_path,
        BASE + 'app: $up: [{do: "load", from: base}, {do: "exec", args: ["true"], mount: {"/src": "tmpfs", "/src/": "cache"}}]\n',
    )

    (diagnostic,) = errors(load_config(tmp_path), "duplicate-mount")

    assert '"/src" and "/src/"' in diagnostic.message
    assert position(diagnostic) == (FIRST_LINE + 1, 92)


def test_path_escaping_its_root(tmp_path):
    write_config(tmp_path, BASE + 'app: $up: [{do: "load", from: base}, {do: "subdir", dir: "../etc"}]\n')

    (diagnostic,) = errors(load_config(tmp_path), "path-escapes")

    assert '"../etc"' in diagnostic.message
    assert position(diagnostic) == (FIRST_LINE + 1, 53)


def test_value_missing_because_input_unset(tmp_path):
    write_config(tmp_path, BASE + 'name: string @input()\napp: $up: [{do: "load", from: base}, {do: "exec", args: ["echo", name]}]\n')

    configuration = load_config(tmp_path, mode="compute")
    (diagnostic,) = errors(configuration, "input-unset")

    assert "input `name` is unset" in diagnostic.message
    assert position(diagnostic) == (FIRST_LINE + 2, 51)
    assert [decl.path for decl in configuration.missing_inputs()] == ["name"]


def test_unset_input_is_not_an_error_when_validating(tmp_path):
    write_config(tmp_path, BASE + 'name: string @input()\napp: $up: [{do: "load", from: base}, {do: "exec", args: ["echo", name]}]\n')

    configuration = load_config(tmp_path, mode="validate")

    assert errors(configuration) == []
    assert configuration.inputs["name"].is_set is False


def test_unset_directory_input_named(tmp_path):
    write_config(tmp_path, BASE + 'source: op.#Dir @input()\napp: $up: [{do: "load", from: base}, {do: "copy", from: source, dest: "/src"}]\n')

    (diagnostic,) = errors(load_config(tmp_path, mode="compute"), "input-unset")

    assert "input `source` is unset" in diagnostic.message
    assert diagnostic.hint == "set it with `dagger input dir source PATH`"
    assert position(diagnostic) == (FIRST_LINE + 2, 51)


def test_cue_error_keeps_every_position(tmp_path):
    write_config(tmp_path, 'a: 1\na: 2\n', header=PLAIN)

    (diagnostic,) = errors(load_config(tmp_path), "cue")

    assert "conflicting values" in diagnostic.message
    assert {position(diagnostic)} | {(info.span.start.line, info.span.start.column) for info in diagnostic.related} == {(FIRST_LINE, 4), (FIRST_LINE + 1, 4)}


def test_value_outside_a_spec_choice_names_the_choices(tmp_path):
    write_config(tmp_path, BASE + 'app: $up: [\n\top.Load & {from: base},\n\top.Exec & {\n\t\targs: ["true"]\n\t\tnetwork: "nnone"\n\t},\n]\n')

    (diagnostic,) = errors(load_config(tmp_path), "cue")

    assert diagnostic.message == 'app.$up.1.network: "nnone" is not one of "host", "none", "sandbox"'
    assert diagnostic.hint == 'did you mean "none"?'
    assert diagnostic.span.file == str(tmp_path / "main.cue")
    assert position(diagnostic) == (FIRST_LINE + 5, 12)


def test_user_position_comes_before_the_spec(tmp_path):
    write_config(tmp_path, BASE + 'app: $up: [op.Load & {from: base}, op.Exec & {args: "true"}]\n')

    (diagnostic,) = errors(load_config(tmp_path), "cue")
    files = [info.span.file for info in diagnostic.related]

    assert diagnostic.span.file == str(tmp_path / "main.cue")
    assert position(diagnostic) == (FIRST_LINE + 1, 53)
    assert any(file.endswith("op.cue") for file in files)


def test_syntax_error_from_the_parser(tmp_path):
    write_config(tmp_path, 'a: {\nb: 1\n', header=PLAIN)

    configuration = load_config(tmp_path)

    assert any(d.code == "syntax" for d in errors(configuration))


def test_final_op_must_be_last(tmp_path):
    write_config(tmp_path, BASE + 'app: $up: [{do: "load", from: base}, {do: "export", source: "/v"}, {do: "exec", args: ["true"]}]\n')

    with pytest.raises(ConfigError) as raised:
        compile_configuration(load_config(tmp_path))

    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.code == "final-op-not-last"
    assert position(diagnostic) == (FIRST_LINE + 1, 38)


def test_all_problems_reported_together(tmp_path):
    write_config(
        tmp_path,
        BASE
        + 'a: $up: [{do: "exce"}]\n'
        + 'b: $up: [{do: "load", from: base}, {do: "exec", args: []}]\n'
        + 'c: $up: [{do: "subdir", dir: "../x"}]\n',
    )

    codes = sorted(d.code for d in errors(load_config(tmp_path)))

    assert codes == ["empty-args", "path-escapes", "unknown-op"]


def test_overlay_replaces_the_file_on_disk(tmp_path):
    path = write_config(tmp_path, BASE)

    configuration = load_config(tmp_path, overlays={str(path): 'package main\n\napp: $up: [{do: "exce"}]\n'})

    assert "app" in configuration.components
    assert "base" not in configuration.components
    assert errors(configuration, "unknown-op")[0].span.file == str(path)


def test_undefined_spec_name_suggested(tmp_path):
    write_config(tmp_path, BASE + 'app: $up: [op.Load & {from: base}, op.WritFile & {dest: "/x", content: "y"}]\n')

    configuration = load_config(tmp_path)
    (diagnostic,) = errors(configuration)

    assert diagnostic.message == "op.WritFile is not defined in archon.dev/op"
    assert diagnostic.hint == "did you mean op.WriteFile?"
    assert position(diagnostic) == (FIRST_LINE + 1, 36)


def test_missing_local_directory(tmp_path):
    write_config(tmp_path, 'src: $up: [op.Local & {dir: "nowhere"}]\n')

    with pytest.raises(ConfigError) as raised:
        compile_configuration(load_config(tmp_path))

    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.code == "local-missing"
    assert '"nowhere"' in diagnostic.message
    assert position(diagnostic) == (FIRST_LINE, 12)


def test_unset_secret_input_is_missing(tmp_path):
    write_config(tmp_path, BASE + 'token: op.#Secret @input()\napp: $up: [op.Load & {from: base}, op.Exec & {args: ["true"], mount: "/t": secret: token}]\n')

    configuration = load_config(tmp_path, mode="compute")
    unset = errors(configuration, "input-unset")

    assert [decl.path for decl in configuration.missing_inputs()] == ["token"]
    assert len(unset) == 1
    assert unset[0].hint == "set it with `dagger input secret token`"
