"""The age key file, encryption at rest and masking."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from archon.engine import secrets as secrets_module
from archon.engine.secrets import AgeKeyring, SealedSecret, default_key_path, mask
from archon.engine.workspace import StateError


def test_key_path_follows_xdg_config_home(config_home: Path) -> None:
    assert default_key_path() == config_home / "key.txt"


def test_key_path_defaults_to_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))

    assert default_key_path() == tmp_path / ".config" / "archon" / "key.txt"


def test_key_created_with_mode_0600(config_home: Path) -> None:
    AgeKeyring().encrypt("value")

    key = config_home / "key.txt"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(config_home.stat().st_mode) == 0o700


def test_key_mode_0600_under_open_umask(config_home: Path) -> None:
    previous = os.umask(0)
    try:
        AgeKeyring().encrypt("value")
    finally:
        os.umask(previous)

    assert stat.S_IMODE((config_home / "key.txt").stat().st_mode) == 0o600


def test_key_never_visible_with_other_mode(config_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Record the mode of every file that exists in the key folder at each
    # write of the key, while the key is being created.
    seen_modes = []
    real_fsync = os.fsync

    def recording_fsync(descriptor: int) -> None:
        for path in config_home.iterdir():
            seen_modes.append(stat.S_IMODE(path.stat().st_mode))
        real_fsync(descriptor)

    monkeypatch.setattr(secrets_module.os, "fsync", recording_fsync)
    AgeKeyring().encrypt("value")

    assert seen_modes
    assert set(seen_modes) == {0o600}


def test_key_file_format(config_home: Path) -> None:
    keyring = AgeKeyring()
    recipient = keyring.recipient

    lines = (config_home / "key.txt").read_text().splitlines()

    assert lines[1] == f"# public key: {recipient}"
    assert lines[2].startswith("AGE-SECRET-KEY-1")


def test_existing_key_reused(config_home: Path) -> None:
    first = AgeKeyring().recipient

    assert AgeKeyring().recipient == first


def test_round_trip(config_home: Path) -> None:
    keyring = AgeKeyring()
    sealed = keyring.encrypt("pässwörd\nline 2")

    assert AgeKeyring().decrypt(sealed) == "pässwörd\nline 2"


def test_ciphertext_differs_per_encryption(config_home: Path) -> None:
    keyring = AgeKeyring()

    assert keyring.encrypt("same").ciphertext != keyring.encrypt("same").ciphertext


def test_group_readable_key_rejected(config_home: Path) -> None:
    AgeKeyring().encrypt("value")
    (config_home / "key.txt").chmod(0o640)

    with pytest.raises(StateError) as caught:
        AgeKeyring().encrypt("value")

    assert "mode 0640" in caught.value.message
    assert "chmod 600" in caught.value.hint


def test_missing_key_on_decrypt(config_home: Path) -> None:
    sealed = AgeKeyring().encrypt("value")
    (config_home / "key.txt").unlink()

    with pytest.raises(StateError) as caught:
        AgeKeyring().decrypt(sealed)

    assert "not found" in caught.value.message
    assert not (config_home / "key.txt").exists()


def test_other_key_names_both_recipients(config_home: Path, tmp_path: Path) -> None:
    sealed = AgeKeyring().encrypt("value")
    other = AgeKeyring(tmp_path / "other" / "key.txt")
    other_recipient = other.recipient

    with pytest.raises(StateError) as caught:
        other.decrypt(sealed)

    assert sealed.recipient in caught.value.message
    assert other_recipient in caught.value.message


def test_corrupt_ciphertext_rejected(config_home: Path) -> None:
    keyring = AgeKeyring()
    sealed = keyring.encrypt("value")

    with pytest.raises(StateError) as caught:
        keyring.decrypt(SealedSecret("bm90IGFnZQ==", sealed.recipient))

    assert "cannot be decrypted" in caught.value.message


# Masking.


def test_mask_single_value() -> None:
    assert mask("token=abc123 ok", ["abc123"]) == "token=*** ok"


def test_mask_every_occurrence() -> None:
    assert mask("abc123abc123", ["abc123"]) == "******"


def test_mask_each_line_of_multiline_value() -> None:
    key = "-----BEGIN KEY-----\nMIIEvQIBADANBg\n-----END KEY-----"

    masked = mask("line: MIIEvQIBADANBg\n", [key])

    assert masked == "line: ***\n"


def test_mask_whole_multiline_value() -> None:
    key = "first line\nsecond line"

    assert mask(f"<{key}>", [key]) == "<***>"


def test_mask_prefers_longest_value() -> None:
    assert mask("hunter2hunter2", ["hunter2", "hunter2hunter2"]) == "***"


def test_mask_skips_short_lines_of_multiline_value() -> None:
    value = "{\nsecret-part\n}"

    assert mask("{ x }", [value]) == "{ x }"


def test_mask_short_single_value_still_masked() -> None:
    assert mask("a=xy", ["xy"]) == "a=***"


def test_mask_ignores_empty_values() -> None:
    assert mask("unchanged", ["", ""]) == "unchanged"


def test_mask_regex_characters_literal() -> None:
    assert mask("p.a*s+s and pXass", ["p.a*s+s"]) == "*** and pXass"
