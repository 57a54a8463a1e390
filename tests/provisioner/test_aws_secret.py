"""`aws.secret` against a moto server: a value from a `${secret:...}` reference or
generated (kept in the secret backend, never in attributes or outputs), drift of the value
seen without recording it, update, rotate, replace, destroy with and without a recovery
window, adopt, and AWS's own error codes."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import boto3
import pytest
from pydantic import SecretStr

from shipway.provisioner import providers
from shipway.provisioner.providers.interface import Observed, ProviderError
from tests.provisioner.emulators import aws_env, changes, context, moto_url, unique

__all__ = ["aws_env", "moto_url"]

CANARY = "canary-db-password-7f3e91"


def _sm(url: str) -> Any:
    return boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=url)


def _value(url: str, secret_id: str) -> str:
    return str(_sm(url).get_secret_value(SecretId=secret_id)["SecretString"])


def _no_plain(observed: Observed, *values: str) -> None:
    text = json.dumps(asdict(observed), default=str)
    for value in values:
        assert value not in text


def test_value_from_a_reference(tmp_path: Path, moto_url: str, aws_env: Any) -> None:
    provider = providers.get("aws.secret")
    name = unique("notes/db")
    ctx = context(tmp_path, "db_password", secrets={"db_password": CANARY})
    settings = provider.settings(
        {
            "endpoint_url": moto_url,
            "name": name,
            "description": "database password",
            "value": "${secret:db_password}",
            "tags": {"app": "notes"},
        }
    )
    assert provider.read(ctx, settings, provider.resource_id("db_password", settings)) is None
    made = provider.create(ctx, settings)

    assert _value(moto_url, name) == CANARY
    described = _sm(moto_url).describe_secret(SecretId=name)
    assert described["Description"] == "database password"
    assert {t["Key"]: t["Value"] for t in described["Tags"]} == {"app": "notes"}
    assert made.outputs == {"arn": described["ARN"], "name": name, "value": "${secret:db_password}"}
    assert changes(provider, settings, made) == {}
    _no_plain(made, CANARY)

    # The source secret changes: the plan shows the value, without the value.
    ctx.backend.set("db_password", SecretStr("new-" + CANARY))
    seen = provider.read(ctx, settings, name)
    assert seen is not None
    diff = changes(provider, settings, seen)
    assert set(diff) == {"value"}
    assert str(diff["value"][0]).startswith("(changed outside shipway: ")
    _no_plain(seen, CANARY, "new-" + CANARY)
    provider.update(ctx, settings, seen, diff)
    assert _value(moto_url, name) == "new-" + CANARY


def test_generated_value_drift_update_and_rotate(
    tmp_path: Path, moto_url: str, aws_env: Any
) -> None:
    provider = providers.get("aws.secret")
    ctx = context(tmp_path, "api_key", environment=unique("dev"))
    settings = provider.settings({"endpoint_url": moto_url, "generate": {"length": 40}})
    made = provider.create(ctx, settings)

    name = f"notes/{ctx.environment}/api_key"
    assert made.resource_id == name
    stored = ctx.read_secret("value")
    assert stored is not None and len(stored.get_secret_value()) == 40
    generated = stored.get_secret_value()
    assert _value(moto_url, name) == generated
    assert made.outputs["value"] == "${secret:resources/api_key/value}"
    _no_plain(made, generated)
    found = provider.read(ctx, settings, provider.resource_id("api_key", settings))
    assert found is not None and changes(provider, settings, found) == {}

    # Changed by hand in Secrets Manager: drift, and the apply puts shipway's value back.
    _sm(moto_url).put_secret_value(SecretId=name, SecretString="hand-made")
    drifted = provider.read(ctx, settings, name)
    assert drifted is not None
    diff = changes(provider, settings, drifted)
    assert set(diff) == {"value"} and "changed outside shipway" in str(diff["value"][0])
    _no_plain(drifted, generated, "hand-made")
    provider.update(ctx, settings, drifted, diff)
    assert _value(moto_url, name) == generated

    # Rotation makes and keeps a new value.
    rotated = provider.rotate(ctx, settings, made)
    fresh = ctx.read_secret("value")
    assert fresh is not None and fresh.get_secret_value() != generated
    assert _value(moto_url, name) == fresh.get_secret_value()
    assert changes(provider, settings, rotated) == {}

    # A new length generates a new value in place.
    longer = provider.settings({"endpoint_url": moto_url, "generate": {"length": 64}})
    diff = changes(provider, longer, rotated)
    assert set(diff) == {"generate"}
    provider.update(ctx, longer, rotated, diff)
    assert len(_value(moto_url, name)) == 64

    provider.delete(ctx, longer, made)
    assert ctx.read_secret("value") is None
    assert provider.read(ctx, longer, name) is None


def test_update_description_tags_and_kms(tmp_path: Path, moto_url: str, aws_env: Any) -> None:
    provider = providers.get("aws.secret")
    name = unique("cfg")
    ctx = context(tmp_path, "cfg", secrets={"s": "v1"})
    first = provider.settings(
        {"endpoint_url": moto_url, "name": name, "value": "${secret:s}", "tags": {"a": "1"}}
    )
    made = provider.create(ctx, first)
    second = provider.settings(
        {
            "endpoint_url": moto_url,
            "name": name,
            "value": "${secret:s}",
            "description": "config",
            "kms_key_id": "alias/notes",
            "tags": {"b": "2"},
        }
    )
    diff = changes(provider, second, made)
    assert set(diff) == {"description", "kms_key_id", "tags"}
    updated = provider.update(ctx, second, made, diff)
    assert changes(provider, second, updated) == {}
    described = _sm(moto_url).describe_secret(SecretId=name)
    assert described["Description"] == "config" and described["KmsKeyId"] == "alias/notes"
    assert {t["Key"]: t["Value"] for t in described["Tags"]} == {"b": "2"}
    renamed = provider.settings(
        {"endpoint_url": moto_url, "name": name + "-2", "value": "${secret:s}"}
    )
    assert "name" in changes(provider, renamed, updated)
    assert "name" in provider.replace_on


def test_delete_with_and_without_recovery(tmp_path: Path, moto_url: str, aws_env: Any) -> None:
    provider = providers.get("aws.secret")
    ctx = context(tmp_path, "token", secrets={"t": "token-value"})
    name = unique("token")
    settings = provider.settings({"endpoint_url": moto_url, "name": name, "value": "${secret:t}"})
    made = provider.create(ctx, settings)
    provider.delete(ctx, settings, made)
    # With the default recovery window the secret is only scheduled for deletion...
    assert "DeletedDate" in _sm(moto_url).describe_secret(SecretId=name)
    assert provider.read(ctx, settings, name) is None
    provider.delete(ctx, settings, made)  # already deleted: not an error
    # ...and creating it again restores it, as the manifest says.
    again = provider.create(ctx, settings)
    assert "DeletedDate" not in _sm(moto_url).describe_secret(SecretId=name)
    assert changes(provider, settings, again) == {}

    now = provider.settings(
        {"endpoint_url": moto_url, "name": name, "value": "${secret:t}", "recovery_window": 0}
    )
    provider.delete(ctx, now, again)
    with pytest.raises(Exception, match="ResourceNotFoundException"):
        _sm(moto_url).describe_secret(SecretId=name)


def test_adopt_and_errors(tmp_path: Path, moto_url: str, aws_env: Any) -> None:
    provider = providers.get("aws.secret")
    name = unique("legacy")
    arn = _sm(moto_url).create_secret(Name=name, SecretString="legacy-value")["ARN"]
    ctx = context(tmp_path, "legacy")
    settings = provider.settings({"endpoint_url": moto_url, "name": name, "generate": {}})
    adopted = provider.adopt(ctx, settings, arn)
    # Adopting a generated secret keeps the value it has.
    assert adopted.resource_id == name
    kept = ctx.read_secret("value")
    assert kept is not None and kept.get_secret_value() == "legacy-value"
    assert changes(provider, settings, adopted) == {}
    _no_plain(adopted, "legacy-value")
    with pytest.raises(ProviderError, match="ResourceNotFoundException"):
        provider.adopt(ctx, settings, unique("missing"))

    taken = provider.settings({"endpoint_url": moto_url, "name": name, "generate": {}})
    with pytest.raises(ProviderError, match=f"creating secret '{name}': ResourceExistsException"):
        provider.create(ctx, taken)


def test_settings_are_checked() -> None:
    provider = providers.get("aws.secret")
    with pytest.raises(ValueError, match="secret:NAME"):
        provider.settings({"value": "plain-text-password"})
    with pytest.raises(ValueError, match="exactly one of value"):
        provider.settings({})
    with pytest.raises(ValueError, match="exactly one of value"):
        provider.settings({"value": "${secret:x}", "generate": {}})
    with pytest.raises(ValueError, match="recovery_window"):
        provider.settings({"generate": {}, "recovery_window": 3})
