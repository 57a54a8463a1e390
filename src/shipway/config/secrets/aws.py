"""The `aws` backend: AWS Secrets Manager, one secret per name, with the id
`PREFIX PROJECT/ENVIRONMENT/NAME` (prefix `shipway/` unless `settings.prefix` says).

Settings: `region` (else `AWS_REGION`/`AWS_DEFAULT_REGION`), `endpoint_url` (an emulator or
a VPC endpoint), `prefix`, `recovery_days` (7; 0 deletes at once). Credentials come from
the usual AWS chain. Needs `boto3` (`pip install 'shipway[aws]'`).
"""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from shipway.config.errors import SecretError, SecretNotFoundError
from shipway.config.secrets.interface import BackendScope, SecretBackend, check_name

TIMEOUT = 10.0


class AwsSecretBackend(SecretBackend):
    name = "aws"

    def __init__(self, scope: BackendScope) -> None:
        super().__init__(scope)
        try:
            import boto3
            from botocore.config import Config
        except ImportError as e:
            raise SecretError(
                "the aws secret backend needs boto3: pip install 'shipway[aws]'"
            ) from e
        settings = scope.settings
        region = (
            settings.get("region")
            or scope.env.get("AWS_REGION")
            or scope.env.get("AWS_DEFAULT_REGION")
            or "us-east-1"
        )
        config = Config(connect_timeout=TIMEOUT, read_timeout=TIMEOUT, retries={"max_attempts": 3})
        self.client: Any = boto3.client(
            "secretsmanager",
            region_name=str(region),
            endpoint_url=settings.get("endpoint_url") or None,
            config=config,
        )
        self.prefix = f"{settings.get('prefix', 'shipway/')}{scope.project}/{scope.environment}/"

    def secret_id(self, name: str) -> str:
        return self.prefix + check_name(name)

    def get(self, name: str) -> SecretStr:
        try:
            answer = self.client.get_secret_value(SecretId=self.secret_id(name))
        except Exception as e:
            raise self._translate(e, name) from None
        if "SecretString" not in answer:
            raise SecretError(f"secret {name!r} holds binary data; shipway reads text secrets")
        return SecretStr(str(answer["SecretString"]))

    def set(self, name: str, value: SecretStr) -> None:
        secret_id = self.secret_id(name)
        text = value.get_secret_value()
        try:
            try:
                self.client.put_secret_value(SecretId=secret_id, SecretString=text)
            except self.client.exceptions.ResourceNotFoundException:
                self.client.create_secret(
                    Name=secret_id,
                    SecretString=text,
                    Tags=[{"Key": "managed-by", "Value": "shipway"}],
                )
        except Exception as e:
            raise self._translate(e, name) from None

    def delete(self, name: str) -> None:
        days = int(self.scope.settings.get("recovery_days", 7))
        options: dict[str, Any] = (
            {"ForceDeleteWithoutRecovery": True} if days == 0 else {"RecoveryWindowInDays": days}
        )
        try:
            self.client.describe_secret(SecretId=self.secret_id(name))
            self.client.delete_secret(SecretId=self.secret_id(name), **options)
        except Exception as e:
            raise self._translate(e, name) from None

    def names(self) -> list[str]:
        found: list[str] = []
        try:
            paginator = self.client.get_paginator("list_secrets")
            pages = paginator.paginate(Filters=[{"Key": "name", "Values": [self.prefix]}])
            for page in pages:
                for entry in page.get("SecretList", []):
                    secret_id = str(entry.get("Name", ""))
                    if secret_id.startswith(self.prefix) and not entry.get("DeletedDate"):
                        found.append(secret_id[len(self.prefix) :])
        except Exception as e:
            raise self._translate(e, "*") from None
        return sorted(found)

    def _translate(self, error: Exception, name: str) -> SecretError:
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(error, ClientError):
            code = str(error.response.get("Error", {}).get("Code", "Unknown"))
            if code == "ResourceNotFoundException":
                return SecretNotFoundError(
                    f"secret {name!r} not found in AWS Secrets Manager ({self.prefix}{name})"
                )
            if code == "InvalidRequestException" and "deleted" in str(error).lower():
                return SecretNotFoundError(f"secret {name!r} is scheduled for deletion in AWS")
            return SecretError(f"AWS Secrets Manager refused ({code}) for secret {name!r}")
        if isinstance(error, BotoCoreError):
            return SecretError(f"AWS Secrets Manager unreachable: {type(error).__name__}")
        if isinstance(error, SecretError):
            return error
        return SecretError(f"AWS Secrets Manager failed: {type(error).__name__}")
