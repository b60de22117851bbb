"""The catalog packages: their docs, and their evaluation with the real `cue`."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from archon.engine.catalog import catalog_root, get_package, list_packages

from .helpers import cue_binary

PACKAGES = ["busybox", "debian", "git", "golang", "image", "node", "python", "shell"]
OP_SPEC = Path(__file__).resolve().parents[2] / "runtime" / "spec" / "cue" / "op"

# A configuration that uses every package, with the result each component's
# $up must export to. A component reference (`from`) is compared as the
# placeholder COMPONENT, because `cue export` shows only its regular fields.
CONFIG = """package main

import (
	"archon.dev/catalog/busybox"
	"archon.dev/catalog/debian"
	"archon.dev/catalog/git"
	"archon.dev/catalog/golang"
	"archon.dev/catalog/image"
	"archon.dev/catalog/node"
	"archon.dev/catalog/python"
	"archon.dev/catalog/shell"
)

base:   busybox.#Image
tools:  debian.#Image & {packages: ["git", "make"]}
plain:  debian.#Image
source: git.#Checkout & {remote: "https://example.com/app.git", ref: "v1.0", subdir: "app"}
hello: shell.#Run & {
	from:    base
	script:  "echo hello > /hello.txt"
	env: GREETING: "hi"
	workdir: "/work"
	mount: "/tmp": "tmpfs"
}
binary:  golang.#Build & {source: source, packages: ["./cmd/app"], env: CGO_ENABLED: "0"}
gotest:  golang.#Test & {source: source, flags: ["-race"]}
pytest:  python.#Test & {source: source, args: ["-q"]}
wheel:   python.#Build & {source: source}
site:    node.#Build & {source: source}
nodetest: node.#Test & {source: source}
release: image.#Push & {source: binary, ref: "registry.example.com/app:1.0"}
"""

COMPONENT = "<component>"

GO_CACHES = {
    "/go/pkg/mod": {"type": "cache", "sharing": "shared"},
    "/root/.cache/go-build": {"type": "cache", "sharing": "shared"},
    "/src": {"from": COMPONENT},
}

EXPECTED = {
    "base": [{"do": "fetch-container", "ref": "archon/busybox:latest"}],
    "plain": [{"do": "fetch-container", "ref": "archon/debian:bookworm"}],
    "tools": [
        {"do": "fetch-container", "ref": "archon/debian:bookworm"},
        {
            "do": "exec",
            "args": [
                "/bin/sh", "-c", 'apt-get update && "$@"', "install",
                "apt-get", "install", "-y", "--no-install-recommends", "git", "make",
            ],
            "env": {"DEBIAN_FRONTEND": "noninteractive"},
            "mount": {
                "/var/cache/apt": {"type": "cache", "sharing": "locked"},
                "/var/lib/apt/lists": {"type": "cache", "sharing": "locked"},
            },
        },
    ],
    "source": [
        {"do": "fetch-git", "remote": "https://example.com/app.git", "ref": "v1.0"},
        {"do": "subdir", "dir": "/app"},
    ],
    "hello": [
        {"do": "load", "from": COMPONENT},
        {
            "do": "exec",
            "args": ["/bin/sh", "-c", "echo hello > /hello.txt"],
            "env": {"GREETING": "hi"},
            "dir": "/work",
            "mount": {"/tmp": "tmpfs"},
        },
    ],
    "binary": [
        {"do": "fetch-container", "ref": "golang:1.22-bookworm"},
        {"do": "mkdir", "path": "/out"},
        {
            "do": "exec",
            "args": ["go", "build", "-o", "/out/", "./cmd/app"],
            "dir": "/src",
            "env": {"CGO_ENABLED": "0"},
            "mount": GO_CACHES,
        },
        {"do": "subdir", "dir": "/out"},
    ],
    "gotest": [
        {"do": "fetch-container", "ref": "golang:1.22-bookworm"},
        {"do": "exec", "args": ["go", "test", "-race", "./..."], "dir": "/src", "mount": GO_CACHES},
    ],
    "pytest": [
        {"do": "fetch-container", "ref": "python:3.12-slim"},
        {"do": "copy", "from": COMPONENT, "dest": "/src"},
        {
            "do": "exec",
            "args": ["python", "-m", "pip", "install", "-e", "."],
            "dir": "/src",
            "mount": {"/root/.cache/pip": {"type": "cache", "sharing": "shared"}},
        },
        {"do": "exec", "args": ["python", "-m", "pytest", "-q"], "dir": "/src"},
    ],
    "wheel": [
        {"do": "fetch-container", "ref": "python:3.12-slim"},
        {"do": "copy", "from": COMPONENT, "dest": "/src"},
        {
            "do": "exec",
            "args": ["python", "-m", "pip", "wheel", "--no-deps", "--wheel-dir", "/out", "/src"],
            "mount": {"/root/.cache/pip": {"type": "cache", "sharing": "shared"}},
        },
        {"do": "subdir", "dir": "/out"},
    ],
    "site": [
        {"do": "fetch-container", "ref": "node:20-bookworm-slim"},
        {"do": "copy", "from": COMPONENT, "dest": "/src"},
        {"do": "exec", "args": ["npm", "ci"], "dir": "/src", "mount": {"/root/.npm": {"type": "cache", "sharing": "shared"}}},
        {"do": "exec", "args": ["npm", "run", "build"], "dir": "/src"},
        {"do": "subdir", "dir": "/src/dist"},
    ],
    "nodetest": [
        {"do": "fetch-container", "ref": "node:20-bookworm-slim"},
        {"do": "copy", "from": COMPONENT, "dest": "/src"},
        {"do": "exec", "args": ["npm", "ci"], "dir": "/src", "mount": {"/root/.npm": {"type": "cache", "sharing": "shared"}}},
        {"do": "exec", "args": ["npm", "test"], "dir": "/src"},
    ],
    "release": [
        {"do": "load", "from": COMPONENT},
        {"do": "push-container", "ref": "registry.example.com/app:1.0"},
    ],
}


def make_module(folder: Path, config: str) -> Path:
    """Write a CUE module with the catalog (and the op spec) under cue.mod/pkg, as the runtime injects them."""
    (folder / "cue.mod").mkdir(parents=True)
    (folder / "cue.mod" / "module.cue").write_text('module: "example.com/x"\nlanguage: version: "v0.17.0"\n')
    shutil.copytree(catalog_root(), folder / "cue.mod" / "pkg" / "archon.dev" / "catalog")
    if OP_SPEC.is_dir():
        shutil.copytree(OP_SPEC, folder / "cue.mod" / "pkg" / "archon.dev" / "op")
    (folder / "main.cue").write_text(config)
    return folder


def replace_components(value: object) -> object:
    """Replace every `from` value with COMPONENT."""
    if isinstance(value, dict):
        return {key: COMPONENT if key == "from" else replace_components(item) for key, item in value.items()}
    if isinstance(value, list):
        return [replace_components(item) for item in value]
    return value


def cue(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([cue_binary(), *args], cwd=folder, capture_output=True, text=True, timeout=120)


def test_every_package_listed() -> None:
    assert [package.name for package in list_packages()] == PACKAGES


@pytest.mark.parametrize("name", PACKAGES)
def test_package_documented(name: str) -> None:
    package = get_package(name)

    assert package.import_path == f"archon.dev/catalog/{name}"
    assert package.doc.startswith(f"Package {name} ")
    assert f'import "archon.dev/catalog/{name}"' in package.doc
    assert package.definitions
    assert all(definition.doc.startswith(definition.name) for definition in package.definitions)


def test_package_files_declare_their_name() -> None:
    for package in list_packages():
        for file in package.path.glob("*.cue"):
            assert f"\npackage {package.name}\n" in file.read_text(), file


def test_summary_is_first_sentence() -> None:
    assert get_package("git").summary == "Package git provides git checkouts as components."


def test_unknown_package_is_none() -> None:
    assert get_package("nope") is None


def test_packages_formatted(tmp_path: Path) -> None:
    files = [str(file) for package in list_packages() for file in package.path.glob("*.cue")]

    completed = subprocess.run([cue_binary(), "fmt", "--check", *files], capture_output=True, text=True, timeout=60)

    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_config_using_every_package_evaluates(tmp_path: Path) -> None:
    module = make_module(tmp_path / "module", CONFIG)

    completed = cue(module, "eval", ".")

    assert completed.returncode == 0, completed.stderr


@pytest.mark.parametrize("component", sorted(EXPECTED))
def test_component_ops(tmp_path: Path, component: str) -> None:
    module = make_module(tmp_path / "module", CONFIG)

    completed = cue(module, "export", "-e", f"{component}.$up", "--out", "json", ".")

    assert completed.returncode == 0, completed.stderr
    assert replace_components(json.loads(completed.stdout)) == EXPECTED[component]


def test_ops_unify_with_op_spec(tmp_path: Path) -> None:
    # Each op of each component must be accepted by the op spec's closed
    # definition for its `do`.
    if not OP_SPEC.is_dir():
        pytest.fail(f"op spec not found at {OP_SPEC}")

    checks = CONFIG.replace('import (\n', 'import (\n\t"archon.dev/op"\n') + """
_spec: {
	"fetch-container": op.FetchContainer
	"fetch-git":       op.FetchGit
	"load":            op.Load
	"copy":            op.Copy
	"exec":            op.Exec
	"subdir":          op.Subdir
	"mkdir":           op.Mkdir
	"push-container":  op.PushContainer
}
checked: [for component in [%s] for o in component.$up {_spec[o.do] & o}]
""" % ", ".join(sorted(EXPECTED))
    module = make_module(tmp_path / "module", checks)

    completed = cue(module, "export", "-e", "len(checked)", ".")

    assert completed.returncode == 0, completed.stderr
    assert int(completed.stdout) == sum(len(ops) for ops in EXPECTED.values())


def test_missing_required_field_is_incomplete(tmp_path: Path) -> None:
    config = 'package main\n\nimport "archon.dev/catalog/shell"\n\nbase: $up: []\nhello: shell.#Run & {from: base}\n'
    module = make_module(tmp_path / "module", config)

    completed = cue(module, "export", "-e", "hello.$up", "--out", "json", ".")

    assert completed.returncode != 0
    assert "incomplete value" in completed.stderr
    assert "shell/shell.cue" in completed.stderr
