"""`azure.blob_container` through the real `shipway provision` command against Azurite:
apply, a second plan that is empty, drift after a change by hand, and destroy. The
account's connection string is a secret in the project's vault, never printed."""

from __future__ import annotations

from pathlib import Path

from azure.storage.blob import BlobServiceClient

from tests.provisioner.emulators import (
    AZURITE_KEY,
    azurite_connection_string,
    azurite_url,
    project,
    shipway,
    unique,
)

__all__ = ["azurite_url"]

RESOURCES = """\
  uploads:
    type: azure.blob_container
    connection_string: ${{secret:azure_storage}}
    name: {name}
    public_access: blob
    metadata: {{app: demo}}
"""


def test_apply_plan_drift_destroy(tmp_path: Path, azurite_url: str) -> None:
    name = unique("cli-uploads")
    connection = azurite_connection_string(azurite_url)
    env = project(tmp_path, RESOURCES.format(name=name), secrets={"azure_storage": connection})

    done = shipway("provision", "apply", "-e", "dev", "--yes", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Apply complete! 1 created" in done.stdout
    assert f'url: "{azurite_url}/{name}"' in done.stdout
    container = BlobServiceClient.from_connection_string(connection).get_container_client(name)
    properties = container.get_container_properties()
    assert properties.public_access == "blob" and properties.metadata == {"app": "demo"}

    again = shipway("provision", "plan", "-e", "dev", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert "No changes." in again.stdout

    container.set_container_metadata(metadata={"app": "changed"})
    drift = shipway("provision", "drift", "-e", "dev", cwd=tmp_path, env=env)
    assert drift.returncode == 1, drift.stdout + drift.stderr
    assert "uploads (azure.blob_container): changed outside shipway" in drift.stdout
    assert "metadata:" in drift.stdout and "changed" in drift.stdout

    gone = shipway("provision", "destroy", "-e", "dev", "--yes", cwd=tmp_path, env=env)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert not container.exists()
    for run in (done, again, drift, gone):
        assert AZURITE_KEY not in run.stdout + run.stderr
