"""The evaluations kept on disk: hits across evaluators, misses, bad entries, permissions, bounds."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from archon.engine.evaluation_cache import EvaluationCache, user_cache_dir
from archon.runtime import evaluate
from archon.runtime.cuecmd import CueNotFoundError, find_cue
from archon.runtime.diagnostics import Diagnostic
from archon.runtime.evaluate import Evaluation, Evaluator

CONFIG = """package main

greeting: "hello"
count: 2 + 3
"""

BROKEN = """package main

count: 2
count: 3
"""


@pytest.fixture(autouse=True)
def cue() -> str:
    try:
        return find_cue(os.environ.get("ARCHON_CUE")).path
    except CueNotFoundError as problem:
        pytest.skip(f"{problem}; {problem.hint}")


@pytest.fixture
def cue_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the evaluations that ran cue, by package folder."""
    runs: list[str] = []
    real = evaluate._run_on_mirror

    def counted(cue, module_root, package, *args, **kwargs):
        runs.append(str(package))
        return real(cue, module_root, package, *args, **kwargs)

    monkeypatch.setattr(evaluate, "_run_on_mirror", counted)
    return runs


def write_package(folder: Path, text: str = CONFIG) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.cue").write_text(text)
    return folder


def entries(cache: EvaluationCache) -> list[Path]:
    return sorted(cache.folder.glob("*.json"))


def test_new_evaluator_reads_the_evaluation_from_disk(tmp_path: Path, cue_runs: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    package = write_package(tmp_path / "plan")
    cache = EvaluationCache(tmp_path / "cache")

    first = Evaluator(store=cache).evaluate(package)

    def no_cue(*args, **kwargs):
        raise AssertionError("cue ran although the evaluation was on disk")

    monkeypatch.setattr(evaluate, "_run_on_mirror", no_cue)
    second = Evaluator(store=EvaluationCache(tmp_path / "cache")).evaluate(package)

    assert cue_runs == [str(package)]
    assert first.value == {"greeting": "hello", "count": 5}
    assert second.value == first.value
    assert second.text == first.text
    assert second.diagnostics == []
    assert second.files == first.files
    assert second.cue == first.cue
    assert second.package_dir == str(package)


def test_changed_content_misses(tmp_path: Path, cue_runs: list[str]) -> None:
    package = write_package(tmp_path / "plan")
    cache = EvaluationCache(tmp_path / "cache")
    Evaluator(store=cache).evaluate(package)

    write_package(package, CONFIG.replace('"hello"', '"bye"'))
    changed = Evaluator(store=cache).evaluate(package)
    extra = Evaluator(store=cache).evaluate(package, extra_files={"zz_more.cue": "package main\n\nmore: 1\n"})

    assert len(cue_runs) == 3
    assert changed.value["greeting"] == "bye"
    assert extra.value["more"] == 1
    assert len(entries(cache)) == 3


def test_cue_errors_are_kept_with_their_positions(tmp_path: Path, cue_runs: list[str]) -> None:
    package = write_package(tmp_path / "plan", BROKEN)
    cache = EvaluationCache(tmp_path / "cache")

    first = Evaluator(store=cache).evaluate(package)
    second = Evaluator(store=cache).evaluate(package)

    assert len(cue_runs) == 1
    assert first.value is None
    assert second.value is None
    assert first.diagnostics
    assert second.diagnostics == first.diagnostics
    assert second.diagnostics[0].span.file == str(package / "main.cue")


def test_failure_without_positions_is_not_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = write_package(tmp_path / "plan")
    cache = EvaluationCache(tmp_path / "cache")

    def timed_out(cue, module_root, package, *args, **kwargs):
        return Evaluation(str(package), "", None, [Diagnostic("cue eval did not finish within 120 s", code="cue-timeout")], {}, cue)

    monkeypatch.setattr(evaluate, "_run_on_mirror", timed_out)
    Evaluator(store=cache).evaluate(package)

    assert entries(cache) == []


@pytest.mark.parametrize(
    "content",
    [b"", b"{not json", b"\xff\xfe", b"[]", b'{"format": 1}', b'{"format": 999, "key": "k", "package": "p", "text": "", "diagnostics": []}'],
    ids=["empty", "truncated", "not-utf8", "not-an-object", "missing-fields", "other-format"],
)
def test_corrupt_entry_is_a_miss_and_is_replaced(tmp_path: Path, cue_runs: list[str], content: bytes) -> None:
    package = write_package(tmp_path / "plan")
    cache = EvaluationCache(tmp_path / "cache")
    Evaluator(store=cache).evaluate(package)
    (entry,) = entries(cache)
    entry.write_bytes(content)

    evaluation = Evaluator(store=cache).evaluate(package)

    assert len(cue_runs) == 2
    assert evaluation.value == {"greeting": "hello", "count": 5}
    assert json.loads(entry.read_bytes())["text"] == evaluation.text
    assert Evaluator(store=cache).evaluate(package).value == evaluation.value
    assert len(cue_runs) == 2


def test_entry_of_another_key_is_a_miss(tmp_path: Path) -> None:
    cache = EvaluationCache(tmp_path / "cache")
    cache.put("one", Evaluation("/p", "a: 1\n", None, []))
    os.replace(cache.path_for("one"), cache.path_for("two"))

    assert cache.get("two") is None
    assert cache.get("one") is None


def test_folder_and_files_are_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cue_runs: list[str]) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    previous = os.umask(0o022)
    try:
        cache = EvaluationCache()
        Evaluator(store=cache).evaluate(write_package(tmp_path / "plan"))
    finally:
        os.umask(previous)

    assert cache.folder == tmp_path / "xdg" / "archon" / "evaluations"
    assert user_cache_dir() == tmp_path / "xdg" / "archon"
    assert stat.S_IMODE(user_cache_dir().stat().st_mode) == 0o700
    assert stat.S_IMODE(cache.folder.stat().st_mode) == 0o700
    (entry,) = entries(cache)
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600


def test_folder_that_others_may_write_is_not_used(tmp_path: Path, cue_runs: list[str]) -> None:
    package = write_package(tmp_path / "plan")
    folder = tmp_path / "cache"
    Evaluator(store=EvaluationCache(folder)).evaluate(package)
    folder.chmod(0o777)

    Evaluator(store=EvaluationCache(folder)).evaluate(package)
    Evaluator(store=EvaluationCache(folder)).evaluate(write_package(tmp_path / "other"))

    assert len(cue_runs) == 3
    assert len(entries(EvaluationCache(folder))) == 1


def test_readable_folder_is_closed_and_used(tmp_path: Path, cue_runs: list[str]) -> None:
    folder = tmp_path / "cache"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    package = write_package(tmp_path / "plan")

    Evaluator(store=EvaluationCache(folder)).evaluate(package)
    Evaluator(store=EvaluationCache(folder)).evaluate(package)

    assert len(cue_runs) == 1
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_least_recently_used_entries_go_first(tmp_path: Path) -> None:
    cache = EvaluationCache(tmp_path / "cache", max_entries=2)
    cache.put("a", Evaluation("/p", "a: 1\n", None, []))
    cache.put("b", Evaluation("/p", "b: 1\n", None, []))
    os.utime(cache.path_for("a"), (1, 1))
    os.utime(cache.path_for("b"), (2, 2))
    assert cache.get("a") is not None  # a hit makes "a" the newest

    cache.put("c", Evaluation("/p", "c: 1\n", None, []))

    assert cache.get("a") is not None
    assert cache.get("b") is None
    assert cache.get("c") is not None
    assert len(entries(cache)) == 2


def test_total_size_is_bounded(tmp_path: Path) -> None:
    cache = EvaluationCache(tmp_path / "cache", max_bytes=40_000)
    for index in range(10):
        cache.put(f"key{index}", Evaluation("/p", "x" * 5_000, None, []))
        os.utime(cache.path_for(f"key{index}"), (index, index))

    total = sum(path.stat().st_size for path in entries(cache))
    assert total <= 40_000
    assert cache.get("key9") is not None
    assert cache.get("key0") is None

    cache.put("huge", Evaluation("/p", "x" * 20_000, None, []))
    assert cache.get("huge") is None


def test_unwritable_folder_is_a_miss_not_an_error(tmp_path: Path, cue_runs: list[str]) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    cache = EvaluationCache(blocked / "cache")

    evaluation = Evaluator(store=cache).evaluate(write_package(tmp_path / "plan"))

    assert evaluation.value == {"greeting": "hello", "count": 5}
    assert cache.get("anything") is None


def test_cue_variables_are_part_of_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = EvaluationCache(tmp_path / "cache")
    cache.put("key", Evaluation("/p", "a: 1\n", None, []))

    monkeypatch.setenv("CUE_EXPERIMENT", "something")

    assert cache.get("key") is None
