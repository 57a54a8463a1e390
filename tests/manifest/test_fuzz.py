"""Fuzzing the loader: whatever the input, it loads or raises one located ManifestError.

Property: `load_manifest`/`load_manifest_text` either return a manifest whose environments
all resolve, or raise `ManifestError` whose message is one line starting `file:line:col: `.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shipway.errors import ManifestError
from shipway.manifest import load_manifest, load_manifest_text, resolve_environment

from .conftest import REFERENCE

FUZZ = settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
NAME = "shipway.yaml"

REFERENCE_DATA: dict[str, Any] = json.loads(
    json.dumps(yaml.safe_load(REFERENCE.read_text(encoding="utf-8")), default=str)
)


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield key
            yield from _keys(child)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


KEYS = sorted(set(_keys(REFERENCE_DATA)))
INTERESTING = [
    "2s",
    "200ms",
    "1 sec",
    "1m30s",
    "256Mi",
    "1Gi",
    "12 GB",
    "200/s",
    "0.5%",
    "${secret:x}",
    "${",
    "${}",
    "${a b}",
    "$${x",
    "ssh://a@b:22",
    "ssh://",
    "GET /health",
    "FETCH /",
    "0700",
    "local",
    "ssh",
    "required",
    "none",
    "dev",
    "staging",
    "prod",
    "api",
    "db",
    "sqlite",
    "postgres.database",
    "yes",
    "",
    "-1",
    "http://x",
    "../x",
    "/etc/passwd",
    "validate",
    "provision",
    "é",
    "a\nb",
]
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(INTERESTING)
)
VALUES = st.recursive(
    LEAVES,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
YAML_ALPHABET = st.sampled_from(
    [*list("abcdevnsk:-,[]{}&*!|>'\"#%@`?<=.$/\\ \n\t0123456789"), "${", "<<", "---", "- ", ": "]
)


def _dump(doc: Any) -> str:
    return yaml.dump(doc, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True)


def _check_text(text: str, name: str = NAME) -> None:
    try:
        loaded = load_manifest_text(text, name)
    except ManifestError as error:
        _check_error(error, name)
        return
    for env in loaded.manifest.environments:
        assert resolve_environment(loaded, env).name == env
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", loaded.digest)


def _check_error(error: ManifestError, name: str) -> None:
    message = str(error)
    assert "\n" not in message and "\r" not in message, message
    assert re.match(re.escape(name) + r":\d+:\d+: \S", message), message


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    children = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, child in children:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


@st.composite
def mutated_reference(draw: st.DrawFn) -> str:
    doc = copy.deepcopy(REFERENCE_DATA)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(doc))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        action = draw(st.sampled_from(["replace", "drop", "unknown", "typo", "wrap"]))
        if action == "replace":
            parent[key] = draw(VALUES)
        elif action == "drop":
            del parent[key]
        elif action == "unknown" and isinstance(parent, dict):
            parent[draw(st.sampled_from(KEYS) | st.text(min_size=1, max_size=8))] = draw(VALUES)
        elif action == "typo" and isinstance(parent, dict):
            cut = draw(st.integers(0, max(len(key) - 1, 0)))
            parent[key[:cut] + key[cut + 1 :] or "x"] = parent.pop(key)
        elif action == "wrap":
            parent[key] = draw(st.sampled_from([[parent[key]], {"x": parent[key]}]))
    return _dump(doc)


@st.composite
def built_from_keys(draw: st.DrawFn) -> str:
    doc: dict[str, Any] = {"version": 1, "project": "demo", "environments": {"dev": {}}}
    for section in draw(st.lists(st.sampled_from(KEYS), max_size=4)):
        doc[section] = draw(VALUES)
    if draw(st.booleans()):
        doc["environments"] = draw(VALUES)
    return _dump(doc)


@FUZZ
@given(st.text(max_size=400))
def test_random_text(text: str) -> None:
    _check_text(text)


@FUZZ
@given(st.lists(YAML_ALPHABET, max_size=120).map("".join))
def test_yaml_like_text(text: str) -> None:
    _check_text(text)


@FUZZ
@given(mutated_reference())
def test_mutated_reference(text: str) -> None:
    _check_text(text)


@FUZZ
@given(built_from_keys())
def test_structures_from_reference_keys(text: str) -> None:
    _check_text(text)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(data=st.binary(max_size=400) | st.text(max_size=200).map(str.encode))
def test_random_bytes_from_a_file(fuzz_dir: Path, data: bytes) -> None:
    path = fuzz_dir / NAME
    path.write_bytes(data)
    try:
        loaded = load_manifest(path)
    except ManifestError as error:
        _check_error(error, str(path))
        return
    assert loaded.path == path
