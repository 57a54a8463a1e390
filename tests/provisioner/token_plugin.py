"""A pipeline plugin that registers a provider with a generated credential (copied into
the test project and named in its `pipeline.plugins`), so the agent and the CLI both
know the type."""

from __future__ import annotations

import secrets

from pydantic import SecretStr

from shipway.provisioner import providers
from shipway.provisioner.providers.interface import (
    Observed,
    Provider,
    ProviderContext,
    ProviderSettings,
)


class TokenSettings(ProviderSettings):
    label: str = "token"


class TokenProvider(Provider):
    """A resource that is nothing but a generated credential in the secret backend."""

    type = "test.token"
    Settings = TokenSettings
    rotatable = True

    def read(
        self, ctx: ProviderContext, settings: ProviderSettings, resource_id: str
    ) -> Observed | None:
        if ctx.read_secret("token") is None:
            return None
        return self._observed(ctx, settings, "${secret:resources/" + ctx.name + "/token}")

    def _observed(self, ctx: ProviderContext, settings: ProviderSettings, ref: str) -> Observed:
        assert isinstance(settings, TokenSettings)
        return Observed(
            ctx.name, {"label": settings.label}, {"token": ref, "label": settings.label}
        )

    def create(self, ctx: ProviderContext, settings: ProviderSettings) -> Observed:
        ref = ctx.store_secret("token", SecretStr("canary-" + secrets.token_hex(12)))
        return self._observed(ctx, settings, ref)

    def delete(self, ctx: ProviderContext, settings: ProviderSettings, current: Observed) -> None:
        ctx.delete_secrets()

    def rotate(
        self, ctx: ProviderContext, settings: ProviderSettings, current: Observed
    ) -> Observed:
        return self.create(ctx, settings)


providers.register(TokenProvider)
