"""The reference manifest (every key a promise to users) loads and resolves."""

from __future__ import annotations

import datetime
import pickle

import pytest

from shipway.manifest import (
    LoadedManifest,
    Manifest,
    Seconds,
    load_manifest,
    load_manifest_text,
    resolve_environment,
)
from shipway.manifest.requirements import HttpCheck, PortFreeCheck, TcpCheck

from .conftest import REFERENCE


@pytest.fixture(scope="module")
def loaded() -> LoadedManifest:
    return load_manifest(REFERENCE)


def test_reference_loads(loaded: LoadedManifest) -> None:
    manifest = loaded.manifest
    assert loaded.path == REFERENCE
    assert loaded.source_text == REFERENCE.read_text(encoding="utf-8")
    assert loaded.digest.startswith("sha256:") and len(loaded.digest) == 7 + 64
    assert manifest.version == 1
    assert manifest.project == "notes"
    assert list(manifest.environments) == ["dev", "staging", "prod"]


def test_units_are_converted_and_remember_their_text(loaded: LoadedManifest) -> None:
    manifest = loaded.manifest
    hardware = manifest.requirements.hardware
    assert hardware.memory == 256 * 2**20 and hardware.memory.text == "256Mi"
    assert hardware.disk_free == 500 * 2**20
    api = manifest.services["api"]
    assert api.health.interval == 1.0 and api.health.timeout == 2.0
    assert isinstance(api.health.timeout, Seconds) and api.health.timeout.text == "2s"
    assert api.limits.memory == 128 * 2**20 and api.limits.cpus == 0.5
    assert manifest.tests.api[0].expect.max_latency == pytest.approx(0.2)
    assert manifest.tests.load is not None
    assert manifest.tests.load.rate == 200.0 and manifest.tests.load.duration == 20.0
    assert manifest.tests.load.slo.error_rate == pytest.approx(0.005)
    assert manifest.monitoring.alerts[0].for_ == 30.0
    dumped = manifest.model_dump(mode="json", by_alias=True)
    assert dumped["services"]["api"]["health"]["timeout"] == "2s"
    assert dumped["monitoring"]["alerts"][0]["for"] == "30s"


def test_short_forms_load(loaded: LoadedManifest) -> None:
    tests = loaded.manifest.tests
    assert (tests.api[0].request.method, tests.api[0].request.path) == ("GET", "/health")
    assert tests.api[1].request.method == "POST" and tests.api[1].request.json_ == {"text": "hi"}
    assert tests.api[2].request.path == "/notes/${note_id}"
    assert tests.api[0].expect.json_ == {"$.status": "ok"}
    assert tests.api[1].save == {"note_id": "$.id"}
    assert tests.load is not None
    assert [r.path for r in tests.load.requests] == ["/health", "/notes"]
    steps = tests.e2e[0].steps
    assert steps[0].goto == "/" and steps[1].fill is not None and steps[2].click is not None
    assert steps[3].expect_text == "hello"


def test_requirements_are_typed_by_their_key(loaded: LoadedManifest) -> None:
    network = loaded.manifest.requirements.network
    assert [type(check) for check in network] == [TcpCheck, HttpCheck, PortFreeCheck]
    assert isinstance(network[1], HttpCheck) and network[1].required is False
    security = loaded.manifest.requirements.security
    assert security[0].model_dump() == {
        "path": ".shipway/secrets",
        "max_mode": "0700",
        "required": True,
    }


def test_references_stay_plain_strings(loaded: LoadedManifest) -> None:
    manifest = loaded.manifest
    assert manifest.resources["db"].attributes == {
        "server": "${secret:pg_admin_url}",
        "owner_role": "notes_app",
    }
    assert manifest.services["api"].env["DATABASE_URL"] == "${resources.db.url}"
    assert manifest.config.layers[1] == "config/${environment}.yaml"


def test_resources_keep_provider_attributes(loaded: LoadedManifest) -> None:
    resources = loaded.manifest.resources
    assert resources["assets"].type == "aws.s3_bucket"
    assert resources["assets"].depends_on == ["db"]
    assert resources["assets"].attributes == {
        "versioning": True,
        "encryption": "aws:kms",
        "public": False,
    }
    assert resources["cache"].attributes["key_prefix"] == "notes:"


def test_dates_and_the_rest(loaded: LoadedManifest) -> None:
    manifest = loaded.manifest
    assert manifest.security.ignore[0].expires == datetime.date(2027, 3, 1)
    assert manifest.monitoring.analysis is not None
    assert manifest.monitoring.analysis.on_no_data == "fail"
    assert manifest.integrations.github is not None
    assert manifest.integrations.github.token == "${secret:github_token}"


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_every_environment_resolves(loaded: LoadedManifest, name: str) -> None:
    env = resolve_environment(loaded, name)
    assert env.name == name
    assert env.services["api"].port == 8080
    assert env.resources == loaded.manifest.resources
    assert env.tested_service == "api"


def test_prod_inherits_from_staging_and_dev(loaded: LoadedManifest) -> None:
    dev = resolve_environment(loaded, "dev")
    staging = resolve_environment(loaded, "staging")
    prod = resolve_environment(loaded, "prod")
    assert dev.chain == ["dev"]
    assert staging.chain == ["staging", "dev"]
    assert prod.chain == ["prod", "staging", "dev"]
    assert (dev.spec.target, staging.spec.target, prod.spec.target) == ("local", "local", "ssh")
    assert prod.spec.approval == "required" and staging.spec.approval == "none"
    assert prod.spec.hosts == ["ssh://deploy@app1.internal:22", "ssh://deploy@app2.internal:22"]
    assert prod.spec.extends == "staging"


def test_section_reports_what_is_written(loaded: LoadedManifest) -> None:
    prod = resolve_environment(loaded, "prod")
    assert prod.section("config")["schema"] == "config/schema.json"
    bare = load_manifest_text("version: 1\nproject: x\nenvironments: {dev: }\n", "m.yaml")
    assert resolve_environment(bare, "dev").section("security") == {}
    with pytest.raises(KeyError):
        prod.section("securty")


def test_models_round_trip_and_pickle(loaded: LoadedManifest) -> None:
    manifest = loaded.manifest
    again = Manifest.model_validate(manifest.model_dump(mode="json", by_alias=True))
    assert again == manifest
    assert pickle.loads(pickle.dumps(manifest)) == manifest
