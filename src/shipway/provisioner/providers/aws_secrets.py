"""`aws.secret`: a secret in AWS Secrets Manager.

The value is either `value: ${secret:NAME}` (revealed from the environment's secret backend
at apply) or `generate: {length: 32}` (a random value made at create, kept with
`ctx.store_secret` and never printed). Attributes never hold the value: `read` compares
the value in Secrets Manager with the one shipway would put there and reports the
manifest's `value` when they match, or a marker with a keyed digest when the secret was
changed by hand, so the change shows in `drift` and the next apply puts it back.
`recovery_window: 0` deletes at once, without the recovery window.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets as random
import string
from collections.abc import Mapping
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator

from shipway.provisioner.context import secret_reference
from shipway.provisioner.providers.aws import (
    AwsSettings,
    aws_error,
    client,
    error_code,
    tag_dict,
    tag_list,
)
from shipway.provisioner.providers.interface import (
    UNKNOWN,
    Observed,
    Provider,
    ProviderContext,
    ProviderError,
    ProviderSettings,
)
from shipway.provisioner.providers.naming import default_name, observed_name

_REFERENCE = re.compile(r"\$\{secret:[^}]+\}")
_NOT_FOUND = {"ResourceNotFoundException"}
#: Secrets Manager's own key, which a secret without `kms_key_id` uses.
_DEFAULT_KEY = "alias/aws/secretsmanager"
#: The `ctx.store_secret` key of a generated value.
_KEY = "value"


class Generate(ProviderSettings):
    length: int = Field(default=32, ge=8, le=4096)
    punctuation: bool = False


class SecretSettings(AwsSettings):
    name: str | None = None
    description: str | None = None
    value: str | None = None
    generate: Generate | None = None
    kms_key_id: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    recovery_window: int = 30

    @field_validator("value")
    @classmethod
    def _reference(cls, value: str | None) -> str | None:
        if value is not None and not _REFERENCE.search(value):
            raise ValueError("must be a ${secret:NAME} reference; a value is never written here")
        return value

    @field_validator("recovery_window")
    @classmethod
    def _window(cls, days: int) -> int:
        if days != 0 and not 7 <= days <= 30:
            raise ValueError("recovery_window is 0 (delete at once) or 7 to 30 days")
        return days

    @model_validator(mode="after")
    def _one_source(self) -> SecretSettings:
        if (self.value is None) == (self.generate is None):
            raise ValueError("give exactly one of value (a ${secret:NAME} reference) or generate")
        return self


def _default_name(ctx: ProviderContext) -> str:
    """`PROJECT/ENVIRONMENT/NAME`, in the characters a secret name may have."""
    return default_name(ctx, max_length=512, separator="/", allowed=r"-\w+=.@", lower=False)


def _generated(spec: Generate) -> str:
    alphabet = string.ascii_letters + string.digits
    if spec.punctuation:
        alphabet += "!#%+-.:=?@^_~"
    return "".join(random.choice(alphabet) for _ in range(spec.length))


class SecretProvider(Provider):
    type = "aws.secret"
    Settings = SecretSettings
    replace_on = frozenset({"name"})
    rotatable = True

    def resource_id(self, name: str, settings: ProviderSettings) -> str:
        assert isinstance(settings, SecretSettings)
        return settings.name or name

    def desired(self, settings: ProviderSettings) -> dict[str, Any]:
        assert isinstance(settings, SecretSettings)
        return {
            "name": settings.name,
            "description": settings.description,
            "kms_key_id": settings.kms_key_id,
            "tags": dict(settings.tags),
            "value": settings.value,
            "generate": settings.generate.model_dump() if settings.generate else None,
        }

    def _secret_id(self, ctx: ProviderContext, settings: SecretSettings, resource_id: str) -> str:
        if settings.name is None and resource_id == ctx.name:
            return _default_name(ctx)
        return resource_id

    def _expected(self, ctx: ProviderContext, settings: SecretSettings) -> str | None:
        """The value shipway puts in the secret; None for a generated one not kept."""
        if settings.value is not None:
            return ctx.reveal(settings.value)
        stored = ctx.read_secret(_KEY)
        return None if stored is None else stored.get_secret_value()

    @staticmethod
    def _describe(sm: Any, secret_id: str) -> dict[str, Any] | None:
        try:
            answer: dict[str, Any] = sm.describe_secret(SecretId=secret_id)
        except Exception as e:
            if error_code(e) in _NOT_FOUND:
                return None
            raise
        return answer

    def _value_attribute(
        self, ctx: ProviderContext, settings: SecretSettings, sm: Any, arn: str
    ) -> str | None:
        try:
            actual: str | None = sm.get_secret_value(SecretId=arn).get("SecretString")
        except Exception as e:
            if error_code(e) not in _NOT_FOUND:
                raise
            actual = None
        if actual is None:
            return "(no value in Secrets Manager)"
        expected = self._expected(ctx, settings)
        if expected is None:
            return "(generated value missing from the secret backend)"
        if hmac.compare_digest(expected.encode(), actual.encode()):
            return settings.value
        # NOTE: keyed with the value shipway expects, so the recorded digest tells one hand
        # change from the next without letting anyone test guesses of the value against it.
        digest = hmac.new(expected.encode(), actual.encode(), hashlib.sha256).hexdigest()
        return f"(changed outside shipway: {digest[:16]})"

    def _observe(
        self, ctx: ProviderContext, settings: SecretSettings, sm: Any, found: dict[str, Any]
    ) -> Observed:
        arn = str(found["ARN"])
        name = str(found["Name"])
        kms = found.get("KmsKeyId")
        attributes = {
            "name": observed_name(settings.name, name, _default_name(ctx)),
            "description": found.get("Description") or None,
            "kms_key_id": None if kms in (None, "", _DEFAULT_KEY) else kms,
            "tags": tag_dict(found.get("Tags")),
            "value": self._value_attribute(ctx, settings, sm, arn),
            "generate": settings.generate.model_dump() if settings.generate else None,
        }
        value = settings.value if settings.value is not None else secret_reference(ctx.name, _KEY)
        outputs = {"arn": arn, "name": name, "value": value}
        return Observed(resource_id=name, attributes=attributes, outputs=outputs)

    def read(
        self, ctx: ProviderContext, settings: ProviderSettings, resource_id: str
    ) -> Observed | None:
        assert isinstance(settings, SecretSettings)
        if UNKNOWN in resource_id:
            return None  # named after a resource not applied yet: not made yet
        secret_id = self._secret_id(ctx, settings, resource_id)
        sm = client(ctx, settings, "secretsmanager")
        try:
            found = self._describe(sm, secret_id)
            if found is None or found.get("DeletedDate"):
                return None
            return self._observe(ctx, settings, sm, found)
        except Exception as e:
            raise aws_error(f"reading secret {secret_id!r}", e) from None

    def _new_value(
        self, ctx: ProviderContext, settings: SecretSettings, fresh: bool
    ) -> tuple[str, bool]:
        """The value to put, and whether it is a new generated one to keep once Secrets
        Manager has it: the revealed reference, or the generated value kept before (a new
        one when `fresh` or none is kept)."""
        if settings.value is not None:
            return ctx.reveal(settings.value), False
        assert settings.generate is not None
        stored = None if fresh else ctx.read_secret(_KEY)
        if stored is not None:
            return stored.get_secret_value(), False
        return _generated(settings.generate), True

    def create(self, ctx: ProviderContext, settings: ProviderSettings) -> Observed:
        assert isinstance(settings, SecretSettings)
        name = settings.name or _default_name(ctx)
        sm = client(ctx, settings, "secretsmanager")
        try:
            value, keep = self._new_value(ctx, settings, fresh=True)
            found = self._describe(sm, name)
            if found is not None and found.get("DeletedDate"):
                # A secret deleted with a recovery window still holds its name: restore it
                # and make it what the manifest says.
                sm.restore_secret(SecretId=name)
                self._converge(sm, name, settings, found, value)
            else:
                request: dict[str, Any] = {"Name": name, "SecretString": value}
                if settings.description:
                    request["Description"] = settings.description
                if settings.kms_key_id:
                    request["KmsKeyId"] = settings.kms_key_id
                if settings.tags:
                    request["Tags"] = tag_list(settings.tags)
                sm.create_secret(**request)
            if keep:
                ctx.store_secret(_KEY, SecretStr(value))
            return self._observe(ctx, settings, sm, sm.describe_secret(SecretId=name))
        except Exception as e:
            raise aws_error(f"creating secret {name!r}", e) from None

    def _converge(
        self,
        sm: Any,
        secret_id: str,
        settings: SecretSettings,
        found: dict[str, Any],
        value: str | None,
    ) -> None:
        update: dict[str, Any] = {}
        if (found.get("Description") or None) != settings.description:
            update["Description"] = settings.description or ""
        kms = found.get("KmsKeyId")
        if (None if kms in (None, "", _DEFAULT_KEY) else kms) != settings.kms_key_id:
            update["KmsKeyId"] = settings.kms_key_id or _DEFAULT_KEY
        if update:
            sm.update_secret(SecretId=secret_id, **update)
        have = tag_dict(found.get("Tags"))
        gone = [key for key in have if key not in settings.tags]
        if gone:
            sm.untag_resource(SecretId=secret_id, TagKeys=gone)
        changed = {k: v for k, v in settings.tags.items() if have.get(k) != v}
        if changed:
            sm.tag_resource(SecretId=secret_id, Tags=tag_list(changed))
        if value is not None:
            sm.put_secret_value(SecretId=secret_id, SecretString=value)

    def update(
        self,
        ctx: ProviderContext,
        settings: ProviderSettings,
        current: Observed,
        changes: Mapping[str, tuple[Any, Any]],
    ) -> Observed:
        assert isinstance(settings, SecretSettings)
        sm = client(ctx, settings, "secretsmanager")
        secret_id = current.resource_id
        try:
            value, keep = None, False
            if "value" in changes or "generate" in changes:
                value, keep = self._new_value(ctx, settings, fresh="generate" in changes)
            found = sm.describe_secret(SecretId=secret_id)
            self._converge(sm, secret_id, settings, found, value)
            if keep and value is not None:
                ctx.store_secret(_KEY, SecretStr(value))
            return self._observe(ctx, settings, sm, sm.describe_secret(SecretId=secret_id))
        except Exception as e:
            raise aws_error(f"updating secret {secret_id!r}", e) from None

    def rotate(
        self, ctx: ProviderContext, settings: ProviderSettings, current: Observed
    ) -> Observed:
        assert isinstance(settings, SecretSettings)
        if settings.generate is None:
            raise ProviderError(
                f"{self.type} {current.resource_id!r}: its value comes from {settings.value}; "
                "change that secret, then apply"
            )
        sm = client(ctx, settings, "secretsmanager")
        try:
            value, _ = self._new_value(ctx, settings, fresh=True)
            sm.put_secret_value(SecretId=current.resource_id, SecretString=value)
            ctx.store_secret(_KEY, SecretStr(value))
            return self._observe(
                ctx, settings, sm, sm.describe_secret(SecretId=current.resource_id)
            )
        except Exception as e:
            raise aws_error(f"rotating secret {current.resource_id!r}", e) from None

    def delete(self, ctx: ProviderContext, settings: ProviderSettings, current: Observed) -> None:
        assert isinstance(settings, SecretSettings)
        sm = client(ctx, settings, "secretsmanager")
        options: dict[str, Any] = (
            {"ForceDeleteWithoutRecovery": True}
            if settings.recovery_window == 0
            else {"RecoveryWindowInDays": settings.recovery_window}
        )
        try:
            found = self._describe(sm, current.resource_id)
            if found is not None and not found.get("DeletedDate"):
                sm.delete_secret(SecretId=current.resource_id, **options)
        except Exception as e:
            raise aws_error(f"deleting secret {current.resource_id!r}", e) from None
        if settings.generate is not None:
            ctx.delete_secrets()

    def adopt(self, ctx: ProviderContext, settings: ProviderSettings, resource_id: str) -> Observed:
        assert isinstance(settings, SecretSettings)
        if settings.generate is not None and ctx.read_secret(_KEY) is None:
            # Taking over a secret shipway would generate: keep the value it has, so
            # adopting changes nothing that already uses it.
            sm = client(ctx, settings, "secretsmanager")
            try:
                answer = sm.get_secret_value(SecretId=resource_id)
            except Exception as e:
                if error_code(e) not in _NOT_FOUND:
                    raise aws_error(f"adopting secret {resource_id!r}", e) from None
            else:
                if "SecretString" in answer:
                    ctx.store_secret(_KEY, SecretStr(str(answer["SecretString"])))
        observed = self.read(ctx, settings, resource_id)
        if observed is None:
            raise ProviderError(
                f"{self.type}: ResourceNotFoundException: secret {resource_id!r} does not exist"
            )
        return observed
