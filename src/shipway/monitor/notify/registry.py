"""Notifier kinds by name: a channel's kind is the key it sets (`webhook`, `slack`,
`email`). A new kind is one module and one line here."""

from __future__ import annotations

import importlib

from shipway.manifest.monitoring import NotifyChannel
from shipway.monitor.notify.interface import ChannelSecrets, Notifier

BUILTIN_NOTIFIERS: dict[str, str] = {
    "webhook": "shipway.monitor.notify.webhook:WebhookNotifier",
    "slack": "shipway.monitor.notify.slack:SlackNotifier",
    "email": "shipway.monitor.notify.email:EmailNotifier",
}


def kind_of(channel: NotifyChannel) -> str:
    for kind in BUILTIN_NOTIFIERS:
        if getattr(channel, kind, None) is not None:
            return kind
    raise ValueError("a channel without a kind passed validation")  # pragma: no cover


def notifier_for(name: str, channel: NotifyChannel, secrets: ChannelSecrets) -> Notifier:
    module, _, cls = BUILTIN_NOTIFIERS[kind_of(channel)].partition(":")
    notifier: Notifier = getattr(importlib.import_module(module), cls)(name, channel, secrets)
    return notifier
