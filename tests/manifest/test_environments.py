"""Environment inheritance: merge rules, chains, and the errors around `extends`."""

from __future__ import annotations

import pytest

from shipway.errors import ManifestError
from shipway.manifest import LoadedManifest, load_manifest_text, resolve_environment
from shipway.manifest.environments import merge_override

BASE = """\
version: 1
project: shop
environments:
  dev:
    variables: {region: local, replicas: 1}
  staging:
    extends: dev
    variables: {replicas: 2}
    services:
      api:
        env: {LOG_LEVEL: info, DEBUG: null}
    resources:
      scratch: null
  prod:
    extends: staging
    approval: required
    target: ssh
    hosts: [ssh://deploy@app1:22]
    requirements:
      software:
        - command: psql
    services:
      api:
        port: 9090
        health: {interval: 5s}
      worker:
        run: python -m shop.worker
security:
  fail_on: critical
requirements:
  software:
    - command: python3
    - command: git
resources:
  db: {type: postgres.database, server: "${secret:pg}"}
  scratch: {type: local.directory, path: tmp}
services:
  api:
    run: python -m shop --port ${port}
    port: 8080
    health: {http: /health, timeout: 3s}
    env: {LOG_LEVEL: debug, DEBUG: "1", PORT: 8080}
"""


@pytest.fixture(scope="module")
def loaded() -> LoadedManifest:
    return load_manifest_text(BASE, "shipway.yaml")


def test_maps_merge_key_by_key(loaded: LoadedManifest) -> None:
    prod = resolve_environment(loaded, "prod")
    api = prod.services["api"]
    assert api.port == 9090
    assert api.run == "python -m shop --port ${port}"
    assert (api.health.http, api.health.timeout, api.health.interval) == ("/health", 3.0, 5.0)
    assert set(prod.services) == {"api", "worker"}


def test_null_removes_a_key(loaded: LoadedManifest) -> None:
    staging = resolve_environment(loaded, "staging")
    assert staging.services["api"].env == {"LOG_LEVEL": "info", "PORT": "8080"}
    assert set(staging.resources) == {"db"}
    assert set(resolve_environment(loaded, "dev").resources) == {"db", "scratch"}


def test_lists_replace(loaded: LoadedManifest) -> None:
    prod = resolve_environment(loaded, "prod")
    assert [r.command for r in prod.requirements.software] == ["psql"]  # type: ignore[union-attr]
    dev = resolve_environment(loaded, "dev")
    assert [r.command for r in dev.requirements.software] == ["python3", "git"]  # type: ignore[union-attr]


def test_variables_and_settings_follow_the_chain(loaded: LoadedManifest) -> None:
    prod = resolve_environment(loaded, "prod")
    assert prod.variables == {"region": "local", "replicas": 2}
    assert prod.security.fail_on == "critical"
    assert prod.chain == ["prod", "staging", "dev"]
    assert resolve_environment(loaded, "staging").spec.approval == "none"


def test_the_top_level_is_untouched(loaded: LoadedManifest) -> None:
    assert loaded.manifest.services["api"].port == 8080
    assert loaded.manifest.environments["prod"].services == {
        "api": {"port": 9090, "health": {"interval": "5s"}},
        "worker": {"run": "python -m shop.worker"},
    }


def test_resolution_is_cached_and_stable(loaded: LoadedManifest) -> None:
    assert resolve_environment(loaded, "prod") is resolve_environment(loaded, "prod")


def test_unknown_environment_lists_the_known_ones(loaded: LoadedManifest) -> None:
    with pytest.raises(ManifestError) as caught:
        resolve_environment(loaded, "prd")
    assert "unknown environment 'prd' (did you mean 'prod'?)" in str(caught.value)
    assert "defined: dev, staging, prod" in str(caught.value)


def test_cycle_is_named_whole() -> None:
    text = "version: 1\nproject: x\nenvironments:\n  a: {extends: c}\n  b: {extends: a}\n"
    text += "  c: {extends: b}\n"
    with pytest.raises(ManifestError) as caught:
        load_manifest_text(text, "m.yaml")
    assert caught.value.reason.endswith("cycle: a -> c -> b -> a")
    assert (caught.value.line, caught.value.column) == (4, 16)


def test_a_manifest_built_by_hand_still_resolves(loaded: LoadedManifest) -> None:
    bare = LoadedManifest(loaded.path, loaded.manifest, loaded.digest, loaded.source_text)
    assert resolve_environment(bare, "prod") == resolve_environment(loaded, "prod")


def test_override_errors_point_into_the_override() -> None:
    text = BASE.replace("        port: 9090\n", "        port: 9090\n        healthy: yes\n")
    with pytest.raises(ManifestError) as caught:
        load_manifest_text(text, "m.yaml")
    error = caught.value
    assert error.reason.startswith("environment 'prod': services.api: unknown key 'healthy'")
    assert (error.line, error.column) == (25, 9)


def test_hosts_need_target_ssh() -> None:
    text = "version: 1\nproject: x\nenvironments:\n  dev: {hosts: ['ssh://a@b']}\n"
    with pytest.raises(ManifestError) as caught:
        load_manifest_text(text, "m.yaml")
    assert "hosts are only used with target ssh" in caught.value.reason


def test_tests_need_a_target_service() -> None:
    text = "version: 1\nproject: x\nenvironments: {dev: {}}\n"
    text += "tests:\n  api: [{name: a, request: GET /}]\n"
    with pytest.raises(ManifestError) as caught:
        load_manifest_text(text, "m.yaml")
    assert "set tests.service" in caught.value.reason
    assert (caught.value.line, caught.value.column) == (5, 3)


@pytest.mark.parametrize(
    ("base", "override", "merged"),
    [
        ({"a": 1, "b": {"c": 2, "d": 3}}, {"b": {"c": 4}}, {"a": 1, "b": {"c": 4, "d": 3}}),
        ({"a": [1, 2]}, {"a": [3]}, {"a": [3]}),
        ({"a": 1, "b": 2}, {"a": None}, {"b": 2}),
        ({"a": {"x": 1}}, {"a": 5}, {"a": 5}),
        ({"a": 5}, {"a": {"x": None, "y": 1}}, {"a": {"y": 1}}),
        (None, {"a": 1}, {"a": 1}),
    ],
)
def test_merge_override_is_json_merge_patch(base: object, override: object, merged: object) -> None:
    assert merge_override(base, override) == merged
