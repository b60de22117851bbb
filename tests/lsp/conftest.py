"""Fixtures for the language server tests: a real `dagger-lsp` process and a pytest-lsp client.

Each test gets its own server process and a copy of a fixture workspace
under tests/lsp/workspaces/, so that tests that write files cannot affect
each other. The `client` fixture runs every test twice: with the client
capabilities pytest-lsp records for VS Code (UTF-16 positions) and for
Neovim (the latest recorded version offers UTF-8 positions).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

REPOSITORY = Path(__file__).resolve().parents[2]
WORKSPACES = Path(__file__).resolve().parent / "workspaces"
SERVER = REPOSITORY / ".venv" / "bin" / "dagger-lsp"

# Seconds a test waits for diagnostics; a full pass runs `cue eval` once.
DIAGNOSTICS_TIMEOUT = 20.0

CLIENTS = ["visual-studio-code", "neovim"]


def cue_binary() -> str | None:
    """Return the cue binary the server should use: ARCHON_CUE, else the repository's tools folder."""
    for candidate in (os.environ.get("ARCHON_CUE"), str(REPOSITORY / ".tools" / "bin" / "cue"), "/tmp/gotools/cue"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def server_environment(**extra: str) -> dict[str, str]:
    environment = dict(os.environ)
    cue = cue_binary()
    if cue:
        environment["ARCHON_CUE"] = cue
    environment.pop("ARCHON_LSP_FAULT", None)
    environment.update(extra)
    return environment


def server_command(*arguments: str) -> list[str]:
    if SERVER.exists():
        return [str(SERVER), *arguments]
    return [sys.executable, "-m", "archon.lsp.server", *arguments]


def initialize_params(client_name: str, root: Path, log_level: str = "debug") -> types.InitializeParams:
    capabilities = client_capabilities(client_name)
    return types.InitializeParams(
        capabilities=capabilities,
        root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
        initialization_options={"logLevel": log_level},
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """Return a fresh copy of the `basic` fixture workspace."""
    target = tmp_path / "basic"
    shutil.copytree(WORKSPACES / "basic", target)
    return target


def record_publish(client: LanguageClient, params: types.PublishDiagnosticsParams) -> None:
    """Keep every publishDiagnostics notification, and the order of all notifications."""
    client.diagnostics[params.uri] = list(params.diagnostics)
    client.published.append(params)
    client.events.append(("publish", params))


def record_log(client: LanguageClient, params: types.LogMessageParams) -> None:
    client.log_messages.append(params)
    client.events.append(("log", params))


def record_notification(client: LanguageClient, method: str, params: Any) -> None:
    client.events.append((method, params))


def make_client() -> LanguageClient:
    """Build a pytest-lsp client that also records notifications in arrival order (`events`)."""
    client = LanguageClient(converter_factory=default_converter)
    features = dict(DEFAULT_CLIENT_FEATURES)
    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = record_publish
    features[types.WINDOW_LOG_MESSAGE] = record_log
    register_lsp_features(client, features)
    client.published = []
    client.events = []

    @client.feature("archon/runLog")
    def run_log(params: Any) -> None:
        record_notification(client, "archon/runLog", params)

    return client


def client_config(**environment: str) -> ClientServerConfig:
    return ClientServerConfig(
        server_command=server_command(),
        server_env=server_environment(**environment),
        client_factory=make_client,
    )


@pytest_lsp.fixture(config=client_config(), params=CLIENTS)
async def client(request, lsp_client: LanguageClient):
    root = request.getfixturevalue("workspace")
    lsp_client.initialize_result = await lsp_client.initialize_session(initialize_params(request.param, root))
    yield
    await lsp_client.shutdown_session()


async def wait_for(condition: Callable[[], Any], timeout: float = DIAGNOSTICS_TIMEOUT, what: str = "the condition") -> Any:
    """Poll condition until it returns a true value; fail the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


def open_document(client: LanguageClient, path: Path, text: str | None = None, version: int = 1) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="cue", version=version, text=path.read_text() if text is None else text)
        )
    )
    return uri


def replace_document(client: LanguageClient, uri: str, text: str, version: int) -> None:
    """Send a full-text change: one content change without a range."""
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


def encoding_of(client: LanguageClient) -> str:
    """Return the position encoding a client's capabilities make the server choose."""
    general = client.capabilities.general if client.capabilities else None
    offered = general.position_encodings if general and general.position_encodings else []
    return "utf-8" if "utf-8" in offered else "utf-16"


def column_in(line: str, code_points: int, encoding: str) -> int:
    """Convert a code-point column of a line into the units of an LSP position encoding."""
    prefix = line[:code_points]
    if encoding == "utf-8":
        return len(prefix.encode("utf-8"))
    return len(prefix.encode("utf-16-le")) // 2


def position_of(text: str, needle: str, offset: int = 0, encoding: str = "utf-16", occurrence: int = 0) -> types.Position:
    """Return the LSP position of the offset-th character of needle's occurrence in text."""
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(needle, start + 1)
    index = start + offset
    line = text.count("\n", 0, index)
    line_start = text.rfind("\n", 0, index) + 1
    line_text = text[line_start:].split("\n", 1)[0]
    return types.Position(line=line, character=column_in(line_text, index - line_start, encoding))


def log_messages(client: LanguageClient) -> list[str]:
    return [message.message for message in client.log_messages]
