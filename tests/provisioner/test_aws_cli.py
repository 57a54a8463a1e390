"""The AWS resource types through the real `shipway provision` command against a moto
server: apply, a second plan that is empty, drift after changes by hand (a generated
secret's value among them, never printed), and destroy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.provisioner.emulators import aws_env, moto_url, project, shipway, unique

__all__ = ["aws_env", "moto_url"]

RESOURCES = """\
  assets:
    type: aws.s3_bucket
    endpoint_url: {url}
    name: {bucket}
    versioning: true
    force_destroy: true
    lifecycle:
      - {{prefix: tmp/, expire_days: 1}}
  web:
    type: aws.security_group
    endpoint_url: {url}
    name: {group}
    ingress:
      - {{port: 443, cidrs: [0.0.0.0/0], description: https}}
    tags: {{bucket: "${{resources.assets.name}}"}}
  api_key:
    type: aws.secret
    endpoint_url: {url}
    name: {secret}
    generate: {{length: 32}}
    recovery_window: 0
"""


def test_apply_plan_drift_destroy(tmp_path: Path, moto_url: str, aws_env: Any) -> None:
    bucket, group, secret = unique("cli-assets"), unique("cli-web"), unique("cli/api_key")
    resources = RESOURCES.format(url=moto_url, bucket=bucket, group=group, secret=secret)
    env = project(tmp_path, resources)

    done = shipway("provision", "apply", "-e", "dev", "--yes", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Apply complete! 3 created" in done.stdout
    assert '"${secret:resources/api_key/value}"' in done.stdout
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto_url)
    ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=moto_url)
    sm = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=moto_url)
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    found = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [group]}])
    assert {t["Key"]: t["Value"] for t in found["SecurityGroups"][0]["Tags"]} == {"bucket": bucket}
    value = sm.get_secret_value(SecretId=secret)["SecretString"]
    assert len(value) == 32 and value not in done.stdout + done.stderr

    again = shipway("provision", "plan", "-e", "dev", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert "No changes." in again.stdout
    assert "0 to create, 0 to update, 0 to replace, 0 to destroy, 3 unchanged" in again.stdout

    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    sm.put_secret_value(SecretId=secret, SecretString="hand-made-value")
    drift = shipway("provision", "drift", "-e", "dev", cwd=tmp_path, env=env)
    assert drift.returncode == 1, drift.stdout + drift.stderr
    assert "assets (aws.s3_bucket): changed outside shipway" in drift.stdout
    assert "versioning: true (recorded) -> false (now)" in drift.stdout
    assert "api_key (aws.secret): changed outside shipway" in drift.stdout
    assert "web (aws.security_group)" not in drift.stdout
    for text in (value, "hand-made-value"):
        assert text not in drift.stdout + drift.stderr
    # Nor is the value anywhere in the project's files (state store, logs); the vault's
    # files hold it encrypted.
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert value.encode() not in path.read_bytes(), path

    # The next apply puts both back, the secret's kept value included.
    fixed = shipway("provision", "apply", "-e", "dev", "--yes", cwd=tmp_path, env=env)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "2 updated" in fixed.stdout
    assert sm.get_secret_value(SecretId=secret)["SecretString"] == value
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"

    s3.put_object(Bucket=bucket, Key="notes.txt", Body=b"x")
    gone = shipway("provision", "destroy", "-e", "dev", "--yes", cwd=tmp_path, env=env)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert "3 destroyed" in gone.stdout
    with pytest.raises(Exception, match="404"):
        s3.head_bucket(Bucket=bucket)
    found = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [group]}])
    assert found["SecurityGroups"] == []
    with pytest.raises(Exception, match="ResourceNotFoundException"):
        sm.describe_secret(SecretId=secret)
