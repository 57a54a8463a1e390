"""A pipeline plugin with a slow provider (copied into the test project and named in its
`pipeline.plugins`): each resource is a marker file written after a pause, so an apply can
be interrupted while calls are in flight."""

from __future__ import annotations

import time
from pathlib import Path

from shipway.provisioner import providers
from shipway.provisioner.providers.interface import (
    Observed,
    Provider,
    ProviderContext,
    ProviderSettings,
)


class SlowSettings(ProviderSettings):
    seconds: float = 0.5


class SlowProvider(Provider):
    type = "test.slow"
    Settings = SlowSettings

    def _marker(self, ctx: ProviderContext, resource_id: str) -> Path:
        return ctx.base_dir / "made" / resource_id

    def read(
        self, ctx: ProviderContext, settings: ProviderSettings, resource_id: str
    ) -> Observed | None:
        if not self._marker(ctx, resource_id).exists():
            return None
        return Observed(resource_id, {"seconds": settings.model_dump()["seconds"]})

    def create(self, ctx: ProviderContext, settings: ProviderSettings) -> Observed:
        assert isinstance(settings, SlowSettings)
        time.sleep(settings.seconds)
        marker = self._marker(ctx, ctx.name)
        marker.parent.mkdir(exist_ok=True)
        marker.write_text("made")
        return Observed(ctx.name, {"seconds": settings.seconds})

    def delete(self, ctx: ProviderContext, settings: ProviderSettings, current: Observed) -> None:
        self._marker(ctx, current.resource_id).unlink(missing_ok=True)


providers.register(SlowProvider)
