"""Plain-text secrets in the merged configuration: a credential-looking value, or a key
named like a credential whose value is not a `${secret:...}` reference. The configure
stage refuses them too (config/lint.py); reporting them here puts them in the scan's
report, the gate and the compliance mapping, before the configure stage runs."""

from __future__ import annotations

from collections.abc import Iterator

from shipway.config.lint import looks_like_credential, secret_like_key
from shipway.scanner.findings import Finding, Rule, Severity
from shipway.scanner.misconfig.interface import ConfigView, MisconfigRule


class PlaintextSecret(MisconfigRule):
    rule = Rule(
        id="misconfig.plaintext-secret",
        title="Plain-text secret in the configuration",
        why="Configuration layers are committed, copied to every host and shown by "
        "`config render`; a credential written in one is readable by all who see them.",
        fix="Store it with `shipway secrets set NAME` and write `${secret:NAME}` in the "
        "layer; list the key in `config.allow_plaintext` if it holds no secret.",
        severity=Severity.HIGH,
    )

    def check_config(self, view: ConfigView) -> Iterator[Finding]:
        for key, name, value in view.leaves():
            if not isinstance(value, str) or not value or key in view.allow_plaintext:
                continue
            what = looks_like_credential(value)
            if what is None and secret_like_key(name) and "${secret:" not in value:
                what = "a value named like a credential"
            if what is not None:
                yield self.config_finding(view, key, f"{key} holds {what}")
