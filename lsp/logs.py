"""Logging for the language server: stderr and `window/logMessage`.

Every module logs through `logging` under the `archon` logger (the server's
features under `archon.lsp.features.<name>`). `LogForwarder` sends each
record at or above the configured level to the client as a
`window/logMessage` notification. Records may come from worker threads; they
are handed to the event loop, because the transport is not thread-safe.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from typing import TYPE_CHECKING

from lsprotocol import types

if TYPE_CHECKING:
    from pygls.lsp.server import LanguageServer

LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
DEFAULT_LEVEL = "info"

# The logger whose records reach the client. pygls' own loggers stay out:
# pygls logs every message it sends, so forwarding them would feed back.
ARCHON_LOGGER = "archon"

# At most this many characters of one record reach the client; a longer
# record (a cue error listing hundreds of positions, say) is cut.
MAX_MESSAGE_CHARS = 8000


def parse_level(name: str | None) -> int | None:
    """Return the logging level for a level name (debug, info, warning, error), or None if unknown."""
    if not isinstance(name, str):
        return None
    return LEVELS.get(name.strip().lower())


def message_type(level: int) -> types.MessageType:
    if level >= logging.ERROR:
        return types.MessageType.Error
    if level >= logging.WARNING:
        return types.MessageType.Warning
    if level >= logging.INFO:
        return types.MessageType.Info
    return types.MessageType.Log


class SecretFilter(logging.Filter):
    """Replace every known secret value in a record's message with `***`.

    Secrets should never be logged in the first place; this filter is the
    last guard before a message leaves the process.
    """

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        # Very short values would mask ordinary words in every message.
        if len(value) >= 4:
            with self._lock:
                self._secrets.add(value)

    def mask(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            record.msg = self.mask(record.getMessage())
            record.args = None
        return True


class LogForwarder(logging.Handler):
    """Send log records to the client as `window/logMessage` notifications."""

    def __init__(self, server: "LanguageServer"):
        super().__init__()
        self._server = server
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sending = threading.local()
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def attach_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def emit(self, record: logging.LogRecord) -> None:
        # A record logged while sending another one would recurse.
        if getattr(self._sending, "active", False):
            return
        protocol = self._server.protocol
        if self._loop is None or protocol.writer is None or getattr(protocol, "_shutdown", False):
            return

        try:
            text = self.format(record)
        except Exception:  # noqa: BLE001 - a broken record must not break the caller
            self.handleError(record)
            return
        if len(text) > MAX_MESSAGE_CHARS:
            text = text[:MAX_MESSAGE_CHARS] + " [... cut]"
        params = types.LogMessageParams(type=message_type(record.levelno), message=text)

        if _running_loop() is self._loop:
            self._send(params)
        elif not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._send, params)

    def _send(self, params: types.LogMessageParams) -> None:
        self._sending.active = True
        try:
            self._server.window_log_message(params)
        except Exception:  # noqa: BLE001 - the client may be gone; stderr still has the record
            pass
        finally:
            self._sending.active = False


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def configure(server: "LanguageServer", level: int, secret_filter: SecretFilter) -> LogForwarder:
    """Route `archon` records to stderr and to the client, both at `level`.

    pygls' own loggers go to stderr only, at WARNING, because at lower levels
    they print every message, including command arguments.
    """
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setFormatter(formatter)
    stderr.addFilter(secret_filter)

    archon = logging.getLogger(ARCHON_LOGGER)
    archon.setLevel(level)
    archon.propagate = False
    for handler in list(archon.handlers):
        archon.removeHandler(handler)
    archon.addHandler(stderr)

    forwarder = LogForwarder(server)
    forwarder.addFilter(secret_filter)
    archon.addHandler(forwarder)

    pygls_logger = logging.getLogger("pygls")
    pygls_logger.setLevel(logging.WARNING)
    pygls_logger.addHandler(stderr)
    pygls_logger.propagate = False
    return forwarder


def set_level(level: int) -> None:
    logging.getLogger(ARCHON_LOGGER).setLevel(level)
