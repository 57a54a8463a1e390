"""`gcp.storage_bucket` against gcp-storage-emulator: create (read back through
google-cloud-storage), update in place, drift made by hand, replace, destroy (refused when
not empty unless force_destroy), adopt, and the service's own error codes."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from shipway.provisioner import providers
from shipway.provisioner.providers.interface import ProviderError
from tests.provisioner.emulators import changes, context, gcs_url, unique

__all__ = ["gcs_url"]


def _client(url: str) -> Any:
    return storage.Client(
        project="test", credentials=AnonymousCredentials(), client_options={"api_endpoint": url}
    )


def test_create_reads_back_through_the_sdk(tmp_path: Path, gcs_url: str) -> None:
    provider = providers.get("gcp.storage_bucket")
    name = unique("media")
    ctx = context(tmp_path, "media")
    settings = provider.settings(
        {
            "endpoint": gcs_url,
            "name": name,
            # NOTE: gcp-storage-emulator keeps every bucket in US whatever is asked, so
            # another location cannot be shown here.
            "location": "us",
            "storage_class": "nearline",
            "versioning": True,
            "labels": {"app": "notes", "env": "dev"},
        }
    )
    assert provider.read(ctx, settings, provider.resource_id("media", settings)) is None

    made = provider.create(ctx, settings)

    bucket = _client(gcs_url).get_bucket(name)
    assert bucket.versioning_enabled is True
    assert bucket.labels == {"app": "notes", "env": "dev"}
    assert bucket.storage_class == "NEARLINE"
    assert bucket.location == "US"
    assert bucket.iam_configuration.uniform_bucket_level_access_enabled is True
    assert made.outputs["name"] == name and made.outputs["url"] == f"gs://{name}"
    found = provider.read(ctx, settings, made.resource_id)
    assert found is not None
    assert set(found.attributes) == set(provider.desired(settings))
    assert changes(provider, settings, found) == {}


def test_default_name_and_emulator_from_the_environment(
    tmp_path: Path, gcs_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_url)
    provider = providers.get("gcp.storage_bucket")
    ctx = context(tmp_path, "Build_Cache", environment=unique("ci"))
    settings = provider.settings({})
    made = provider.create(ctx, settings)
    assert made.resource_id == f"notes-{ctx.environment}-build-cache"
    assert _client(gcs_url).lookup_bucket(made.resource_id) is not None
    assert changes(provider, settings, provider.read(ctx, settings, "Build_Cache")) == {}


def test_update_drift_and_replace(tmp_path: Path, gcs_url: str) -> None:
    provider = providers.get("gcp.storage_bucket")
    name = unique("logs")
    ctx = context(tmp_path, "logs")
    first = provider.settings({"endpoint": gcs_url, "name": name})
    made = provider.create(ctx, first)
    second = provider.settings(
        {"endpoint": gcs_url, "name": name, "versioning": True, "labels": {"team": "ops"}}
    )
    diff = changes(provider, second, made)
    assert set(diff) == {"versioning", "labels"}
    updated = provider.update(ctx, second, made, diff)
    assert changes(provider, second, updated) == {}
    bucket = _client(gcs_url).get_bucket(name)
    assert bucket.versioning_enabled is True and bucket.labels == {"team": "ops"}

    # By hand: versioning off, a label changed.
    bucket.versioning_enabled = False
    bucket.labels = {"team": "data"}
    bucket.patch()
    drifted = provider.read(ctx, second, name)
    assert drifted is not None
    diff = changes(provider, second, drifted)
    assert diff == {"versioning": (False, True), "labels": ({"team": "data"}, {"team": "ops"})}
    fixed = provider.update(ctx, second, drifted, diff)
    assert changes(provider, second, fixed) == {}

    moved = provider.settings({"endpoint": gcs_url, "name": name, "location": "ASIA"})
    assert set(changes(provider, moved, fixed)) >= {"location"}
    assert {"name", "location"} == provider.replace_on


def test_destroy_refuses_a_non_empty_bucket_unless_forced(tmp_path: Path, gcs_url: str) -> None:
    provider = providers.get("gcp.storage_bucket")
    name = unique("full")
    ctx = context(tmp_path, "full")
    settings = provider.settings({"endpoint": gcs_url, "name": name})
    made = provider.create(ctx, settings)
    _client(gcs_url).bucket(name).blob("a.txt").upload_from_string(b"hello")
    with pytest.raises(ProviderError, match=r"BucketNotEmpty.*force_destroy"):
        provider.delete(ctx, settings, made)
    assert _client(gcs_url).lookup_bucket(name) is not None
    forced = provider.settings({"endpoint": gcs_url, "name": name, "force_destroy": True})
    assert changes(provider, forced, made) == {}
    provider.delete(ctx, forced, made)
    assert provider.read(ctx, forced, name) is None
    provider.delete(ctx, forced, made)  # already gone: not an error


def test_adopt_and_errors(tmp_path: Path, gcs_url: str) -> None:
    provider = providers.get("gcp.storage_bucket")
    name = unique("legacy")
    _client(gcs_url).create_bucket(name)
    ctx = context(tmp_path, "legacy")
    settings = provider.settings({"endpoint": gcs_url, "name": name})
    adopted = provider.adopt(ctx, settings, name)
    assert adopted.resource_id == name
    # Adopted as it is: a bucket made without uniform access shows the change to come.
    assert changes(provider, settings, adopted) == {"uniform_bucket_level_access": (False, True)}
    with pytest.raises(ProviderError, match="404"):
        provider.adopt(ctx, settings, unique("missing"))
    with pytest.raises(ProviderError, match=f"creating storage bucket '{name}': 409"):
        provider.create(ctx, settings)


def test_settings_are_checked() -> None:
    provider = providers.get("gcp.storage_bucket")
    with pytest.raises(ValueError, match="bucket name"):
        provider.settings({"name": "UPPER"})
    with pytest.raises(ValueError, match="label key"):
        provider.settings({"labels": {"Team": "x"}})


def test_without_the_sdk_the_error_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import google.cloud

    provider = providers.get("gcp.storage_bucket")
    settings = provider.settings({"name": "some-bucket"})
    monkeypatch.delattr(google.cloud, "storage")
    monkeypatch.setitem(sys.modules, "google.cloud.storage", None)
    with pytest.raises(ProviderError, match=re.escape("pip install 'shipway[gcp]'")):
        provider.read(context(tmp_path, "media"), settings, "some-bucket")
