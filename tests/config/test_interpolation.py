"""References: every namespace, typed whole values, escapes, secrets kept as templates,
cycles named with their whole chain and positions, and missing references."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.config.errors import ConfigError
from shipway.config.interpolation import Scope, Template, resolve
from shipway.config.layers import Layer, Stack
from shipway.config.sources import parse_layer


def _stack(*texts: str) -> Stack:
    return Stack.of(
        Layer.from_document(parse_layer(text, f"l{i}.yaml", "yaml"))
        for i, text in enumerate(texts, start=1)
    )


def _resolve(*texts: str, **scope: object) -> dict[str, object]:
    settings: dict[str, object] = {"environment": "prod", "project": "notes", **scope}
    return resolve(_stack(*texts), Scope(**settings)).values  # type: ignore[arg-type]


def test_every_namespace_resolves() -> None:
    values = _resolve(
        "name: ${project}-${environment}\n"
        "region: ${region}\n"
        "port: 8080\n"
        "port_copy: ${config.port}\n"
        "url: http://${config.host}:${config.port}/\n"
        "host: ${env:HOST}\n"
        "debug: ${env:DEBUG:-false}\n"
        "db: ${resources.db.url}\n"
        "hosts: [a, b]\n"
        "first: ${config.hosts.0}\n"
        "all: ${config.hosts}\n",
        variables={"region": "eu"},
        env={"HOST": "example.org"},
        resources={"db": {"url": "postgres://db/notes"}},
    )
    assert values == {
        "name": "notes-prod",
        "region": "eu",
        "port": 8080,
        "port_copy": 8080,  # a whole-value reference keeps its type
        "url": "http://example.org:8080/",
        "host": "example.org",
        "debug": "false",
        "db": "postgres://db/notes",
        "hosts": ["a", "b"],
        "first": "a",
        "all": ["a", "b"],
    }


def test_references_see_the_merged_result() -> None:
    values = _resolve("a: ${config.b}\nb: base\n", "b: override\n")
    assert values == {"a": "override", "b": "override"}


def test_escapes_stay_literal() -> None:
    values = _resolve("shell: echo $${HOME} and $${secret:x}\n")
    assert values == {"shell": "echo ${HOME} and ${secret:x}"}


def test_secrets_stay_templates() -> None:
    resolved = resolve(
        _stack(
            "password: ${secret:db_password}\n"
            "url: postgres://app:${secret:db_password}@${config.host}/db?x=$${secret:lit}\n"
            "host: db.internal\n"
            "copy: ${config.url}\n"
        ),
        Scope("prod", "notes"),
    )
    assert resolved.values["password"] == "${secret:db_password}"
    url = "postgres://app:${secret:db_password}@db.internal/db?x=$${secret:lit}"
    assert resolved.values["url"] == url
    assert resolved.templates[("url",)] == Template(url, ("db_password",))
    assert resolved.templates[("copy",)].text == url
    assert resolved.secret_names == ["db_password"]


def test_resources_are_deferred_outside_a_deployment() -> None:
    resolved = resolve(_stack("db: ${resources.db.url}/x\n"), Scope("prod", "notes"))
    assert resolved.templates[("db",)].deferred == ("resources.db.url",)


def test_a_cycle_names_the_whole_chain_with_positions() -> None:
    with pytest.raises(ConfigError) as caught:
        _resolve("a: ${config.b}\nb: x-${config.c}\n", "c: ${config.a}\n")
    assert str(caught.value) == (
        "l2.yaml:1:4: reference cycle: a (l1.yaml:1:4) -> b (l1.yaml:2:4) -> "
        "c (l2.yaml:1:4) -> a (l1.yaml:1:4)"
    )


def test_a_mapping_that_refers_to_itself_is_a_cycle() -> None:
    with pytest.raises(ConfigError, match=r"reference cycle: s \(l1.yaml:2:3\) -> s.a "):
        _resolve("s:\n  a: ${config.s}\n")
    with pytest.raises(ConfigError, match=r"^l1.yaml:1:4: reference cycle: a \(l1.yaml:1:4\)"):
        _resolve("a: ${config.a}\n")


def test_missing_references_say_where_and_what_is_near() -> None:
    with pytest.raises(ConfigError) as caught:
        _resolve("server:\n  port: 1\nurl: http://x:${config.server.prot}/\n")
    assert str(caught.value) == (
        "l1.yaml:3:6: url: missing reference ${config.server.prot}: no key "
        "'server.prot' (did you mean 'server.port'?)"
    )
    with pytest.raises(ConfigError) as chained:
        _resolve("a: ${config.b}\nb: ${config.nope}\n")
    assert str(chained.value) == (
        "l1.yaml:2:4: b: missing reference ${config.nope}: no key 'nope' (reached through a)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: ${port}\n", "unknown reference ${port} (known here: environment, project"),
        ("a: ${env:NOPE}\n", "${env:NOPE}: environment variable NOPE is not set"),
        ("a: ${resources.db}\n", "invalid reference ${resources.db}"),
        ("a: ${secret:../x}\n", "invalid secret name in ${secret:../x}"),
        ("m: {k: 1}\na: x-${config.m}\n", "${config.m} is a mapping: it can only be the whole"),
    ],
)
def test_bad_references(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _resolve(text, resources={"db": {"url": "u"}})
    assert message in str(caught.value)
    assert str(caught.value).startswith("l1.yaml:")


def test_a_missing_resource_attribute(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"resource 'db' has no 'port' \(it has: url\)"):
        _resolve("a: ${resources.db.port}\n", resources={"db": {"url": "u"}})
    with pytest.raises(ConfigError, match=r"no resource 'cache' \(provisioned: db\)"):
        _resolve("a: ${resources.cache.url}\n", resources={"db": {"url": "u"}})
