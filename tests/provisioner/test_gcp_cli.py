"""`gcp.storage_bucket` through the real `shipway provision` command against
gcp-storage-emulator: apply, a second plan that is empty, drift after a change by hand,
and destroy."""

from __future__ import annotations

from pathlib import Path

from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from tests.provisioner.emulators import gcs_url, project, shipway, unique

__all__ = ["gcs_url"]

RESOURCES = """\
  media:
    type: gcp.storage_bucket
    endpoint: {url}
    name: {name}
    versioning: true
    labels: {{app: demo}}
"""


def test_apply_plan_drift_destroy(tmp_path: Path, gcs_url: str) -> None:
    name = unique("cli-media")
    env = project(tmp_path, RESOURCES.format(url=gcs_url, name=name))
    client = storage.Client(
        project="test", credentials=AnonymousCredentials(), client_options={"api_endpoint": gcs_url}
    )

    done = shipway("provision", "apply", "-e", "dev", "--yes", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Apply complete! 1 created" in done.stdout
    assert f'url: "gs://{name}"' in done.stdout
    bucket = client.get_bucket(name)
    assert bucket.versioning_enabled is True and bucket.labels == {"app": "demo"}

    again = shipway("provision", "plan", "-e", "dev", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert "No changes." in again.stdout

    bucket.labels = {"app": "changed"}
    bucket.patch()
    drift = shipway("provision", "drift", "-e", "dev", cwd=tmp_path, env=env)
    assert drift.returncode == 1, drift.stdout + drift.stderr
    assert "media (gcp.storage_bucket): changed outside shipway" in drift.stdout
    assert "labels:" in drift.stdout and "changed" in drift.stdout

    gone = shipway("provision", "destroy", "-e", "dev", "--yes", cwd=tmp_path, env=env)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert client.lookup_bucket(name) is None
