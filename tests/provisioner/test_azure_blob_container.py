"""`azure.blob_container` against Azurite: create (read back through azure-storage-blob),
update in place, drift made by hand, replace, destroy (refused when not empty unless
force_destroy), adopt, and Azure's own error codes. The account's connection string is a
`${secret:...}` reference revealed from a real local vault."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient

from shipway.provisioner import providers
from shipway.provisioner.context import ResourceContext
from shipway.provisioner.providers.interface import ProviderError
from tests.provisioner.emulators import (
    AZURITE_KEY,
    azurite_connection_string,
    azurite_url,
    changes,
    context,
    unique,
)

__all__ = ["azurite_url"]

ACCOUNT = {"connection_string": "${secret:azure_storage}"}


def _service(url: str) -> Any:
    return BlobServiceClient.from_connection_string(azurite_connection_string(url))


def _ctx(tmp_path: Path, url: str, name: str) -> ResourceContext:
    return context(tmp_path, name, secrets={"azure_storage": azurite_connection_string(url)})


def test_create_reads_back_through_the_sdk(tmp_path: Path, azurite_url: str) -> None:
    provider = providers.get("azure.blob_container")
    name = unique("uploads")
    ctx = _ctx(tmp_path, azurite_url, "uploads")
    settings = provider.settings(
        {**ACCOUNT, "name": name, "public_access": "blob", "metadata": {"app": "notes"}}
    )
    assert provider.read(ctx, settings, provider.resource_id("uploads", settings)) is None

    made = provider.create(ctx, settings)

    properties = _service(azurite_url).get_container_client(name).get_container_properties()
    assert properties.metadata == {"app": "notes"}
    assert properties.public_access == "blob"
    assert made.outputs == {
        "name": name,
        "url": f"{azurite_url}/{name}",
        "account": "devstoreaccount1",
    }
    assert AZURITE_KEY not in json.dumps(asdict(made))
    found = provider.read(ctx, settings, made.resource_id)
    assert found is not None
    assert set(found.attributes) == set(provider.desired(settings))
    assert changes(provider, settings, found) == {}


def test_default_name_and_account_key(tmp_path: Path, azurite_url: str) -> None:
    provider = providers.get("azure.blob_container")
    ctx = context(tmp_path, "Media_Files", environment=unique("qa"), secrets={"key": AZURITE_KEY})
    settings = provider.settings({"account_url": azurite_url, "account_key": "${secret:key}"})
    made = provider.create(ctx, settings)
    assert made.resource_id == f"notes-{ctx.environment}-media-files"
    assert _service(azurite_url).get_container_client(made.resource_id).exists()
    assert changes(provider, settings, provider.read(ctx, settings, "Media_Files")) == {}


def test_update_drift_and_replace(tmp_path: Path, azurite_url: str) -> None:
    provider = providers.get("azure.blob_container")
    name = unique("docs")
    ctx = _ctx(tmp_path, azurite_url, "docs")
    first = provider.settings({**ACCOUNT, "name": name})
    made = provider.create(ctx, first)
    second = provider.settings(
        {**ACCOUNT, "name": name, "public_access": "container", "metadata": {"tier": "hot"}}
    )
    diff = changes(provider, second, made)
    assert set(diff) == {"public_access", "metadata"}
    updated = provider.update(ctx, second, made, diff)
    assert changes(provider, second, updated) == {}
    container = _service(azurite_url).get_container_client(name)
    properties = container.get_container_properties()
    assert properties.public_access == "container" and properties.metadata == {"tier": "hot"}

    # By hand: metadata changed, public access turned off.
    container.set_container_metadata(metadata={"tier": "cold", "owner": "ops"})
    container.set_container_access_policy(signed_identifiers={}, public_access=None)
    drifted = provider.read(ctx, second, name)
    assert drifted is not None
    diff = changes(provider, second, drifted)
    assert diff == {
        "metadata": ({"tier": "cold", "owner": "ops"}, {"tier": "hot"}),
        "public_access": ("none", "container"),
    }
    fixed = provider.update(ctx, second, drifted, diff)
    assert changes(provider, second, fixed) == {}

    renamed = provider.settings({**ACCOUNT, "name": name + "-b"})
    assert "name" in changes(provider, renamed, fixed)
    assert provider.replace_on == {"name"}


def test_destroy_refuses_a_non_empty_container_unless_forced(
    tmp_path: Path, azurite_url: str
) -> None:
    provider = providers.get("azure.blob_container")
    name = unique("full")
    ctx = _ctx(tmp_path, azurite_url, "full")
    settings = provider.settings({**ACCOUNT, "name": name})
    made = provider.create(ctx, settings)
    container = _service(azurite_url).get_container_client(name)
    container.upload_blob("a.txt", b"hello")
    with pytest.raises(ProviderError, match=r"ContainerNotEmpty.*force_destroy"):
        provider.delete(ctx, settings, made)
    assert container.exists()
    forced = provider.settings({**ACCOUNT, "name": name, "force_destroy": True})
    assert changes(provider, forced, made) == {}
    provider.delete(ctx, forced, made)
    assert provider.read(ctx, forced, name) is None
    provider.delete(ctx, forced, made)  # already gone: not an error


def test_adopt_and_errors(tmp_path: Path, azurite_url: str) -> None:
    provider = providers.get("azure.blob_container")
    name = unique("legacy")
    _service(azurite_url).create_container(name, metadata={"made": "by-hand"})
    ctx = _ctx(tmp_path, azurite_url, "legacy")
    settings = provider.settings({**ACCOUNT, "name": name, "metadata": {"made": "by-hand"}})
    adopted = provider.adopt(ctx, settings, name)
    assert adopted.resource_id == name and changes(provider, settings, adopted) == {}
    with pytest.raises(ProviderError, match="ContainerNotFound"):
        provider.adopt(ctx, settings, unique("missing"))
    with pytest.raises(
        ProviderError, match=f"creating blob container '{name}': ContainerAlreadyExists"
    ):
        provider.create(ctx, settings)
    wrong_key = context(tmp_path / "other", "legacy", secrets={"key": "d3Jvbmc="})
    keyed = provider.settings({"account_url": azurite_url, "account_key": "${secret:key}"})
    with pytest.raises(ProviderError, match=r"AuthorizationFailure|AuthenticationFailed"):
        provider.read(wrong_key, keyed, name)


def test_settings_are_checked() -> None:
    provider = providers.get("azure.blob_container")
    with pytest.raises(ValueError, match="secret:NAME"):
        provider.settings({"connection_string": "AccountKey=plain"})
    with pytest.raises(ValueError, match="container name"):
        provider.settings({"name": "Bad--Name"})
    with pytest.raises(ValueError, match="not both"):
        provider.settings({"connection_string": "${secret:c}", "account_url": "http://x"})
    with pytest.raises(ValueError, match="public_access"):
        provider.settings({"public_access": "everyone"})


def test_without_the_sdk_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = providers.get("azure.blob_container")
    settings = provider.settings({**ACCOUNT, "name": "some-container"})
    monkeypatch.setitem(sys.modules, "azure.storage.blob", None)
    with pytest.raises(ProviderError, match=re.escape("pip install 'shipway[azure]'")):
        provider.read(context(tmp_path, "uploads"), settings, "some-container")
