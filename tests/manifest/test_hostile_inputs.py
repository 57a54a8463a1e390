"""Hostile and broken inputs: every one is a one-line ManifestError, quickly.

The 2-second timeout is a guard against hangs (alias bombs, quadratic parsing), not a
benchmark.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from shipway.errors import ManifestError
from shipway.manifest import load_manifest, load_manifest_text
from shipway.manifest.source import MAX_BYTES

from .conftest import MINIMAL

pytestmark = pytest.mark.timeout(2)


def _billion_laughs() -> str:
    lines = [MINIMAL, 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = name
    return "\n".join(lines) + "\n"


def _failure(text: str) -> ManifestError:
    with pytest.raises(ManifestError) as caught:
        load_manifest_text(text, "shipway.yaml")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("shipway.yaml")
    return caught.value


def _file_failure(path: Path) -> ManifestError:
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith(str(path))
    return caught.value


def test_billion_laughs() -> None:
    assert "aliases expand the document past" in _failure(_billion_laughs()).reason


def test_too_many_aliases() -> None:
    text = MINIMAL + "a: &a 1\nb: [" + ", ".join(["*a"] * 10_001) + "]\n"
    assert "more than 10000 aliases" in _failure(text).reason


@pytest.mark.parametrize(
    "text",
    ["a: &a [*a]\n", "a: &a {b: *a}\n", "a: &a {<<: *a}\n"],
    ids=["list", "mapping", "merge"],
)
def test_recursive_alias(text: str) -> None:
    assert "alias refers to a node that contains it" in _failure(text).reason


def test_aliases_that_nest_too_deep() -> None:
    text = "a: &a " + "[" * 150 + "1" + "]" * 150 + "\nb: " + "[" * 100 + "*a" + "]" * 100 + "\n"
    assert "deeper than 200" in _failure(text).reason


def test_ten_megabyte_file(tmp_path: Path) -> None:
    path = tmp_path / "shipway.yaml"
    path.write_bytes(b"# padding\n" * (1024 * 1024))
    error = _file_failure(path)
    assert error.line is None
    assert f"the limit is {MAX_BYTES} bytes" in error.reason


def test_oversized_text() -> None:
    assert "the limit is" in _failure("a" * (MAX_BYTES + 1)).reason


def test_random_binary(tmp_path: Path) -> None:
    path = tmp_path / "shipway.yaml"
    rng = random.Random(1234)
    for _ in range(20):
        path.write_bytes(bytes(rng.randrange(256) for _ in range(4096)))
        _file_failure(path)
    path.write_bytes(os.urandom(65536))
    _file_failure(path)


def test_nul_bytes(tmp_path: Path) -> None:
    path = tmp_path / "shipway.yaml"
    path.write_bytes(MINIMAL.encode() + b"x: a\x00b\n")
    error = _file_failure(path)
    assert (error.line, error.column) == (5, 5)
    assert "NUL byte" in error.reason
    assert "NUL byte" in _failure(MINIMAL + "x: \x00\n").reason


def test_control_characters() -> None:
    assert "control character U+0007" in _failure("version: 1\x07\n").reason


def test_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "shipway.yaml"
    path.write_bytes("version: 1\nproject: caf\xe9\n".encode("latin-1"))
    error = _file_failure(path)
    assert (error.line, error.column) == (2, 13)
    assert "not UTF-8" in error.reason


def test_utf8_bom_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "shipway.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert load_manifest(path).manifest.project == "demo"


@pytest.mark.parametrize(
    "text",
    ["[" * 10_000, "[" * 10_000 + "]" * 10_000, "{a: " * 10_000, "- " * 10_000 + "x"],
    ids=["open-lists", "closed-lists", "mappings", "block-lists"],
)
def test_deep_nesting(text: str) -> None:
    reason = _failure(text).reason
    assert "nest" in reason or "deep" in reason


def test_nesting_within_the_limit_is_fine() -> None:
    text = MINIMAL + "variables: {}\n" + "x: " + "[" * 150 + "1" + "]" * 150 + "\n"
    assert "unknown key 'variables'" in _failure(text).reason


@pytest.mark.parametrize(
    "value",
    [
        "9" * 5000,
        "-" + "9" * 100,
        "0x" + "f" * 40,
        "9223372036854775808",
        "1e99999",
        ".inf",
        ".nan",
    ],
)
def test_huge_numbers(value: str) -> None:
    error = _failure(MINIMAL + f"services:\n  api:\n    run: x\n    port: {value}\n")
    assert (error.line, error.column) == (8, 11)


def test_largest_integer_is_just_a_wrong_port() -> None:
    error = _failure(MINIMAL + "services:\n  api:\n    run: x\n    port: 9223372036854775807\n")
    assert "less than or equal to 65535" in error.reason


def test_missing_file(tmp_path: Path) -> None:
    error = _file_failure(tmp_path / "nope.yaml")
    assert "no such file" in error.reason


def test_directory(tmp_path: Path) -> None:
    assert "not a regular file" in _file_failure(tmp_path).reason


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "shipway.yaml"
    path.write_text(MINIMAL)
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as root: permissions are not enforced")
        assert "cannot read manifest" in _file_failure(path).reason
    finally:
        path.chmod(0o600)


@pytest.mark.parametrize(
    "text",
    ["", "   \n", "# only a comment\n", "---\n", "null\n", "~\n"],
    ids=["empty", "blank", "comment", "marker", "null", "tilde"],
)
def test_empty_documents(text: str) -> None:
    reason = _failure(text).reason
    assert "empty" in reason or "top level must be a mapping" in reason


@pytest.mark.parametrize("text", ["42\n", "hello\n", "[1, 2]\n", "- a\n"])
def test_top_level_not_a_mapping(text: str) -> None:
    assert "top level must be a mapping" in _failure(text).reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("? [a]\n: 1\n", "mapping keys must be plain text"),
        ("a: !!binary aGVsbG8=\n", "unsupported YAML tag '!!binary'"),
        ("a: !!python/object:os.system {}\n", "unsupported YAML tag"),
        ("a: !!set {x}\n", "unsupported YAML tag '!!set'"),
        ("a: !!bool yes\n", "not a valid bool"),
        ("a: !!int twelve\n", "not a valid integer"),
        ("a: *missing\n", "unknown alias '*missing'"),
        ("a: {<<: [1]}\n", "merge key '<<' takes a mapping"),
        ("a: 'open\n", "invalid YAML"),
        ("a: [\n", "invalid YAML"),
        ("a: b: c\n", "invalid YAML"),
    ],
)
def test_yaml_features_we_refuse(text: str, reason: str) -> None:
    assert reason in _failure(text).reason
