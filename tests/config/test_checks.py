"""JSON Schema violations point at the JSON path and the layer value that decided it; the
plain-text secret lint refuses credentials in layers without ever printing them."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.config.errors import ConfigError
from shipway.config.lint import key_words, looks_like_credential, secret_like_key

from .conftest import resolve, write_project

SCHEMA = """\
{
  "type": "object",
  "required": ["server"],
  "properties": {
    "server": {
      "type": "object",
      "properties": {
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "host": {"type": "string"}
      },
      "additionalProperties": false
    },
    "db": {"type": "object", "properties": {"password": {"type": "string", "minLength": 30}}}
  }
}
"""


def _project(tmp_path: Path, prod: str, base: str = "server:\n  port: 8080\n") -> Path:
    return write_project(
        tmp_path,
        "config:\n  layers:\n    - base.yaml\n    - ${environment}.yaml\n  schema: schema.json\n",
        {"base.yaml": base, "prod.yaml": prod, "dev.yaml": "{}\n", "schema.json": SCHEMA},
    )


def test_a_violation_points_at_the_layer_that_set_the_value(tmp_path: Path) -> None:
    manifest = _project(tmp_path, "log: x\nserver:\n  port: 70000\n")
    with pytest.raises(ConfigError) as caught:
        resolve(manifest, "prod")
    assert str(caught.value) == (
        "prod.yaml:3:9: $.server.port: 70000 is greater than the maximum of 65535"
    )
    resolve(manifest, "dev")  # the base layer alone is valid


def test_an_unknown_key_points_at_the_key(tmp_path: Path) -> None:
    manifest = _project(tmp_path, "server:\n  hots: x\n  port: 0\n")
    with pytest.raises(ConfigError) as caught:
        resolve(manifest, "prod")
    assert str(caught.value) == (
        "prod.yaml:2:9: $.server.hots: unknown key (the schema allows no additional "
        "properties) (and 1 more schema violation)"
    )


def test_a_missing_required_key(tmp_path: Path) -> None:
    manifest = _project(tmp_path, "{}\n", base="other: 1\n")
    with pytest.raises(ConfigError, match=r"^prod.yaml:1:1: \$: 'server' is a required property"):
        resolve(manifest, "prod")


def test_secret_values_are_only_type_checked(tmp_path: Path) -> None:
    manifest = _project(tmp_path, "db:\n  password: ${secret:db_password}\n")
    resolve(manifest, "prod")  # minLength cannot be known before the value is read
    manifest = _project(tmp_path, "db:\n  password:\n    - ${secret:db_password}\n")
    with pytest.raises(ConfigError, match=r"^prod.yaml:3:5: \$.db.password: \[.* is not of type"):
        resolve(manifest, "prod")


def test_an_invalid_schema_is_reported_in_the_schema_file(tmp_path: Path) -> None:
    manifest = _project(tmp_path, "{}\n")
    (tmp_path / "schema.json").write_text('{\n  "type": "object",\n  "minProperties": "two"\n}')
    with pytest.raises(ConfigError) as caught:
        resolve(manifest, "prod")
    assert str(caught.value).startswith(
        "schema.json:3:20: invalid JSON Schema at $.minProperties: 'two' is not of type"
    )


CANARY = "hunter2-canary-7f3a"


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        (f"db:\n  password: {CANARY}\n", "base.yaml:2:13: db.password", "a key named like"),
        (f"apiKey: {CANARY}\n", "base.yaml:1:9: apiKey", "a key named like"),
        ("db_token: ${env:TOKEN:-abc}\n", "base.yaml:1:11: db_token", "a key named like"),
        ("aws: AKIAABCDEFGHIJKLMNOP\n", "base.yaml:1:6: aws", "an AWS access key id"),
        (f"url: postgres://app:{CANARY}@db/x\n", "base.yaml:1:6: url", "a URL with a password"),
        ("k: |\n  -----BEGIN RSA PRIVATE KEY-----\n", "base.yaml:1:4: k", "a private key"),
    ],
)
def test_the_lint_refuses_plain_text_secrets(
    tmp_path: Path, text: str, where: str, what: str
) -> None:
    manifest = write_project(tmp_path, "config:\n  layers: [base.yaml]\n", {"base.yaml": text})
    with pytest.raises(ConfigError) as caught:
        resolve(manifest, "dev", sets=[])
    message = str(caught.value)
    assert message.startswith(where), message
    assert what in message
    assert CANARY not in message and "AKIAABCDEFGHIJKLMNOP" not in message


def test_the_lint_accepts_references_and_allowed_keys(tmp_path: Path) -> None:
    manifest = write_project(
        tmp_path,
        "config:\n  layers: [base.yaml]\n  allow_plaintext: [auth.token_header]\n",
        {
            "base.yaml": "db:\n  password: ${secret:db_password}\n"
            "  url: postgres://app:${secret:db_password}@db/x\n"
            "auth:\n  token_header: X-Token\n  token_ttl: 300\n"
            "cache_key: notes\nkey: LOG_LEVEL\nsecret_name: x\n"
        },
    )
    values = resolve(manifest, "dev").resolved.values
    assert values["auth"] == {"token_header": "X-Token", "token_ttl": 300}


def test_a_set_password_is_refused_too(tmp_path: Path) -> None:
    manifest = write_project(tmp_path, "config:\n  layers: []\n")
    with pytest.raises(ConfigError, match=r"^--set db.password: db.password: plain-text"):
        resolve(manifest, "dev", sets=[f"db.password={CANARY}"])


def test_key_words_and_patterns() -> None:
    assert key_words("dbPassword") == ["db", "password"]
    assert key_words("API_KEY") == ["api", "key"]
    assert secret_like_key("client_secret")
    assert secret_like_key("signingKey")
    assert not secret_like_key("primary_key")
    assert not secret_like_key("token_ttl")
    assert not secret_like_key("key")
    assert looks_like_credential("ghp_" + "a" * 36) == "a GitHub token"
    assert looks_like_credential("https://user:${secret:pw}@host/") is None
    assert looks_like_credential("plain text") is None
