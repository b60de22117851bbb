"""Secret values: encrypted at rest with age, masked in logs.

The local key is an age X25519 identity in the user's config folder
(`key.txt`, mode 0600, created on first use). Workspaces store only the
ciphertext and the recipient (public key) it was encrypted for, so a
workspace can be committed without revealing its secrets. The plain text
exists only in memory, on its way to BuildKit through the session.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime
import os
import re
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pyrage

from archon.engine.settings import user_config_dir
from archon.engine.workspace import StateError

MASK = "***"

# Lines of a multi-line secret shorter than this are not masked one by one:
# masking every "}" or "--" of a log would hide the log, and such a line
# reveals almost nothing. The whole value is always masked.
MIN_MASKED_LINE_LENGTH = 3


def default_key_path() -> Path:
    return user_config_dir() / "key.txt"


@dataclass(frozen=True)
class SealedSecret:
    """An encrypted secret: base64 of the age ciphertext, and the age recipient it was encrypted for."""

    ciphertext: str
    recipient: str


class SecretStore(Protocol):
    """Encrypts secret values for storage and decrypts them for a run."""

    def encrypt(self, value: str) -> SealedSecret: ...

    def decrypt(self, sealed: SealedSecret) -> str: ...


class AgeKeyring:
    """The local SecretStore: one age X25519 identity in a key file."""

    def __init__(self, key_path: Path | None = None):
        self.key_path = Path(key_path) if key_path else default_key_path()
        self._identity: pyrage.x25519.Identity | None = None

    def identity(self, create: bool = False) -> pyrage.x25519.Identity:
        """Load the identity; with `create`, generate and store one when the key file is missing."""
        if self._identity is not None:
            return self._identity

        if not self.key_path.exists():
            if not create:
                raise StateError(
                    f"age key {self.key_path} not found, so the secrets cannot be decrypted",
                    "restore the key file, or set each secret again with `dagger input secret NAME`",
                )
            self._create_key()

        self._identity = self._load_key()
        return self._identity

    @property
    def recipient(self) -> str:
        return str(self.identity(create=True).to_public())

    def _create_key(self) -> None:
        identity = pyrage.x25519.Identity.generate()
        created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        text = f"# created: {created}\n# public key: {identity.to_public()}\n{identity}\n"

        folder = self.key_path.parent
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)

        # mkstemp creates the file with mode 0600, so the key is never
        # readable by others, not even before a chmod. Linking the complete
        # file into place fails if another process created the key first,
        # and then that key wins.
        descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".key.", suffix=".tmp")
        try:
            with os.fdopen(descriptor, "w", encoding="ascii") as stream:
                stream.write(text)
                stream.flush()
                os.fsync(stream.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(temporary, self.key_path)
        finally:
            os.unlink(temporary)

    def _load_key(self) -> pyrage.x25519.Identity:
        mode = stat.S_IMODE(self.key_path.stat().st_mode)
        if mode & 0o077:
            raise StateError(
                f"age key {self.key_path} has mode {mode:04o}, so other users can read it",
                f"run `chmod 600 {self.key_path}`",
            )

        lines = self.key_path.read_text(encoding="ascii").splitlines()
        keys = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
        if len(keys) != 1:
            raise StateError(
                f"age key {self.key_path} must contain exactly one AGE-SECRET-KEY line, found {len(keys)}",
                "restore the key file, or move it away to have a new one created",
            )
        try:
            return pyrage.x25519.Identity.from_str(keys[0])
        except pyrage.IdentityError as problem:
            raise StateError(f"age key {self.key_path} is invalid: {problem}", "restore the key file") from None

    def encrypt(self, value: str) -> SealedSecret:
        identity = self.identity(create=True)
        ciphertext = pyrage.encrypt(value.encode("utf-8"), [identity.to_public()])
        return SealedSecret(base64.b64encode(ciphertext).decode("ascii"), str(identity.to_public()))

    def decrypt(self, sealed: SealedSecret) -> str:
        identity = self.identity()
        if sealed.recipient and sealed.recipient != str(identity.to_public()):
            raise StateError(
                f"the secret was encrypted for {sealed.recipient}, but the key {self.key_path} is "
                f"{identity.to_public()}",
                "use the key file it was encrypted with, or set the secret again",
            )
        try:
            return pyrage.decrypt(base64.b64decode(sealed.ciphertext, validate=True), [identity]).decode("utf-8")
        except (pyrage.DecryptError, binascii.Error, UnicodeDecodeError) as problem:
            raise StateError(f"the stored secret cannot be decrypted: {problem}", "set the secret again") from None


def mask(text: str, values: Iterable[str]) -> str:
    """Replace every occurrence of each secret value in `text` with `***`.

    A multi-line value is also masked line by line, so a log that prints
    one line of a key file is masked too. Empty values and lines shorter
    than MIN_MASKED_LINE_LENGTH (after stripping) are ignored.
    """
    needles: set[str] = set()
    for value in values:
        if value:
            needles.add(value)
        if "\n" in value:
            for line in value.splitlines():
                line = line.strip()
                if len(line) >= MIN_MASKED_LINE_LENGTH:
                    needles.add(line)

    if not needles:
        return text

    # Longest first, so that a value that contains another is masked whole.
    pattern = re.compile("|".join(re.escape(needle) for needle in sorted(needles, key=len, reverse=True)))
    return pattern.sub(MASK, text)
