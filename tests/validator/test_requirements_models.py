"""The `requirements:` keys the validator added: loading, and bad entries failing at their
`file:line:col` (cases/bad/*.yaml start with `# expect: LINE:COL reason`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shipway.errors import ManifestError
from shipway.manifest import load_manifest, load_manifest_text, resolve_environment
from shipway.manifest import requirements as req

BAD = sorted((Path(__file__).with_name("cases") / "bad").glob("*.yaml"))

FULL = """\
version: 1
project: demo
environments:
  dev: {}
  prod:
    requirements:
      hardware: {arch: arm64}
requirements:
  hardware: {cpus: 2, memory_available: 1Gi, disk_free: 1Gi, disk_path: data, arch: x86_64}
  software:
    - command: node
      version: ">=20"
      version_flag: -v
      version_pattern: 'v([0-9.]+)'
    - os_package: nginx
      version: ">=1.22"
    - process: postgres
    - unit: nginx.service
      required: false
  network:
    - dns: api.internal
    - tcp: 127.0.0.1:5432
      max_latency: 50ms
    - http: https://api.internal/health
      expect_body: ok
      verify: false
    - tls: api.internal:443
      min_days: 21
      ca_file: certs/ca.pem
  security:
    - path: /etc/app/secret
      owner: deploy
    - env: DATABASE_URL
    - tls_protocol: api.internal:443
      min_version: 1.2
"""


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_requirement_fails_at_its_place(path: Path) -> None:
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    match = re.fullmatch(r"# expect: (\d+):(\d+) (.+)", first)
    assert match, first
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    error = caught.value
    assert (error.line, error.column) == (int(match[1]), int(match[2])), str(error)
    assert match[3] in error.reason, str(error)
    assert "\n" not in str(error)


def test_every_new_key_loads_with_its_type() -> None:
    loaded = load_manifest_text(FULL, "shipway.yaml")
    spec = resolve_environment(loaded, "dev").requirements
    assert spec.hardware.arch == ["x86_64"] and spec.hardware.disk_path == "data"
    node, nginx, postgres, unit = spec.software
    assert isinstance(node, req.CommandRequirement) and node.version_pattern == "v([0-9.]+)"
    assert isinstance(nginx, req.OsPackageRequirement)
    assert isinstance(postgres, req.ProcessRequirement)
    assert isinstance(unit, req.UnitRequirement) and unit.required is False
    dns, tcp, http, tls = spec.network
    assert isinstance(dns, req.DnsCheck) and dns.timeout == 5.0
    assert isinstance(tcp, req.TcpCheck) and tcp.max_latency == pytest.approx(0.05)
    assert isinstance(http, req.HttpCheck) and http.verify is False
    assert isinstance(tls, req.TlsCheck) and tls.min_days == 21
    path, env, protocol = spec.security
    assert isinstance(path, req.PathModeCheck) and path.max_mode is None and path.owner == "deploy"
    assert isinstance(env, req.EnvVarCheck) and env.env == "DATABASE_URL"
    assert isinstance(protocol, req.TlsProtocolCheck) and protocol.min_version == "1.2"
    assert resolve_environment(loaded, "prod").requirements.hardware.arch == ["arm64"]


def test_unset_optional_keys_stay_out_of_the_dump() -> None:
    check = req.PathModeCheck.model_validate({"path": "secrets", "max_mode": "0600"})
    assert check.model_dump() == {"path": "secrets", "max_mode": "0600", "required": True}
    both = req.PathModeCheck.model_validate({"path": "s", "max_mode": "0600", "owner": "me"})
    assert both.model_dump(mode="json")["owner"] == "me"
    again = req.PathModeCheck.model_validate(check.model_dump(mode="json"))
    assert again == check


def test_the_guides_example_loads() -> None:
    guide = (Path(__file__).parents[2] / "docs" / "validator.md").read_text(encoding="utf-8")
    example = guide.split("```yaml\n", 1)[1].split("```", 1)[0]
    text = "version: 1\nproject: demo\nenvironments:\n  dev: {}\n" + example
    spec = resolve_environment(load_manifest_text(text, "guide.yaml"), "dev").requirements
    assert len(spec.software) == 6 and len(spec.network) == 5 and len(spec.security) == 4
