"""Layers: four formats merged in order (maps merge, lists replace, null deletes), `--set`
on top, provenance for `--explain`, and parse errors at `file:line:col` in every format."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipway.config.errors import ConfigError
from shipway.config.layers import assignments_layer
from shipway.config.sources import parse_layer
from shipway.errors import ManifestError

from .conftest import manager, resolve, write_project

CONFIG = """\
config:
  layers:
    - config/base.yaml
    - config/defaults.toml
    - config/${environment}.json
    - path: config/${environment}.env
      optional: true
"""

BASE = """\
log_level: info
server:
  host: 0.0.0.0
  port: 8080
  timeouts: {read: 5, write: 10}
features: [search, export]
cache:
  ttl: 60
  size: 100
"""

DEFAULTS = """\
# layer 2: TOML
[server]
port = 8081
workers = 4

[cache]
ttl = 120
"""

PROD_JSON = """\
{
  "log_level": "warning",
  "features": ["search"],
  "cache": {"size": null},
  "server": {"timeouts": {"read": 30}}
}
"""

PROD_ENV = """\
# layer 4: .env
SERVER__PORT=9000
LOG_LEVEL="error"
RELEASE_NAME=spring
"""


@pytest.fixture
def four_layers(tmp_path: Path) -> Path:
    return write_project(
        tmp_path,
        CONFIG,
        {
            "config/base.yaml": BASE,
            "config/defaults.toml": DEFAULTS,
            "config/prod.json": PROD_JSON,
            "config/dev.json": "{}",
            "config/prod.env": PROD_ENV,
        },
    )


def test_four_layers_merge_in_order(four_layers: Path) -> None:
    values = resolve(four_layers, "prod").resolved.values
    assert values == {
        "log_level": "error",  # base < json < .env (quoted: text)
        "server": {
            "host": "0.0.0.0",
            "port": 9000,  # base 8080 < toml 8081 < .env 9000 (typed as a number)
            "timeouts": {"read": 30, "write": 10},  # maps merge key by key
            "workers": 4,
        },
        "features": ["search"],  # lists replace
        "cache": {"ttl": 120},  # null deletes
        "release_name": "spring",  # .env keys are lowercased
    }
    # The optional dev.env is absent: dev has three layers.
    dev = resolve(four_layers, "dev")
    assert [layer.name for layer in dev.stack.layers] == [
        "config/base.yaml",
        "config/defaults.toml",
        "config/dev.json",
    ]
    assert dev.resolved.values["server"]["port"] == 8081


def test_set_overrides_every_layer(four_layers: Path) -> None:
    resolution = resolve(
        four_layers,
        "prod",
        sets=["server.port=7000", "cache=null", "features=[a, b]", 'log_level="8080"'],
    )
    values = resolution.resolved.values
    assert values["server"]["port"] == 7000
    assert "cache" not in values
    assert values["features"] == ["a", "b"]
    assert values["log_level"] == "8080"
    assert str(resolution.stack.origin(("server", "port"))) == "--set server.port"


def test_explain_names_every_layer_with_its_position(four_layers: Path) -> None:
    resolution = resolve(four_layers, "prod")
    (port,) = resolution.explain("server.port")
    assert port.value == 9000
    assert str(port.origin) == "config/prod.env:2:14"
    assert [str(c.origin) for c in port.contributions] == [
        "config/base.yaml:4:9",
        "config/defaults.toml:3:8",
        "config/prod.env:2:14",
    ]
    assert [c.value for c in port.contributions] == [8080, 8081, 9000]
    (read,) = resolution.explain("server.timeouts.read")
    assert str(read.origin) == "config/prod.json:5:35"
    (ttl,) = resolution.explain("cache.ttl")
    assert str(ttl.origin) == "config/defaults.toml:7:7"
    # A key deleted by a later layer is gone, and the layer that deleted it is recorded.
    with pytest.raises(ConfigError, match=r"no key 'cache\.size'"):
        resolution.explain("cache.size")
    size = resolution.stack.contributions(("cache", "size"))
    assert [(str(c.origin), c.deleted) for c in size] == [
        ("config/base.yaml:9:9", False),
        ("config/prod.json:4:21", True),
    ]
    # A mapping explains each of its leaves.
    assert [e.key for e in resolution.explain("server.timeouts")] == [
        "server.timeouts.read",
        "server.timeouts.write",
    ]


def test_a_missing_layer_points_at_the_manifest(tmp_path: Path) -> None:
    manifest = write_project(tmp_path, "config:\n  layers:\n    - config/nope.yaml\n")
    with pytest.raises(ConfigError) as caught:
        resolve(manifest)
    assert str(caught.value) == "config/nope.yaml: cannot read config layer: no such file"
    manifest = write_project(tmp_path, "config:\n  layers:\n    - config/${nope}.yaml\n")
    with pytest.raises(ManifestError) as bad:
        resolve(manifest)
    assert str(bad.value).startswith(f"{manifest}:11:7: a layer path may use ${{environment}}")


@pytest.mark.parametrize(
    ("fmt", "text", "expected"),
    [
        ("yaml", "a: 1\nb: [1, 2\n", "x:3:1: invalid YAML"),
        ("yaml", "a: 1\na: 2\n", "x:2:1: duplicate key 'a' (first defined at line 1)"),
        ("yaml", "a:\n  b: ${config.\n", "x:2:6: unterminated reference"),
        ("yaml", "- 1\n", "x:1:1: the top level of a config layer must be a mapping"),
        ("json", '{\n  "a": 1,\n  "b": }\n', "x:3:8: invalid JSON: Expecting value"),
        ("json", '{"a": NaN}', "x: invalid JSON: NaN is not a number JSON allows"),
        ("json", '{\n "a": 1,\n "a": 2\n}', "x:3:2: duplicate key 'a'"),
        ("json", '{\n "a": "${}"\n}', "x:2:7: empty reference '${}'"),
        ("toml", "a = 1\nb = \n", "x:2:5: invalid TOML: Invalid value"),
        ("toml", "[t]\nk = '${bad name}'\n", "x:2:5: invalid reference '${bad name}'"),
        ("env", "A=1\nnot a pair\n", "x:2:1: expected KEY=value"),
        ("env", 'A="open\n', "x:1:3: unterminated double-quoted value"),
        ("env", "A=1\nA=2\n", "x:2:1: duplicate key 'A' (first defined at line 1)"),
    ],
)
def test_parse_errors_have_a_position(fmt: str, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_layer(text, "x", fmt)
    assert str(caught.value).startswith(expected), str(caught.value)
    assert "\n" not in str(caught.value)


def test_toml_positions_follow_tables_arrays_and_multiline_values() -> None:
    text = (
        'title = "x"\n'
        "[db]\n"
        'hosts = [\n  "a",\n  "b",\n]\n'
        'note = """\nport = 1\n"""\n'
        "port = 5432\n"
        "[[jobs]]\n"
        "name = 'one'\n"
        "[[jobs]]\n"
        "name = 'two'\n"
        '[db."quoted.key"]\n'
        "x = 1\n"
    )
    document = parse_layer(text, "t.toml", "toml")
    assert document.data["db"]["port"] == 5432
    assert document.positions[("db", "port")] == (10, 8)
    assert document.positions[("db", "hosts")] == (3, 9)
    assert document.positions[("jobs", 1, "name")] == (14, 8)
    assert document.positions[("db", "quoted.key", "x")] == (16, 5)


def test_env_values_are_typed_unless_quoted() -> None:
    document = parse_layer(
        "export A=8080\nB='8080'\nC=true\nD=\nE=hello world # comment\nF=null\nG=\"a\\nb\"\n",
        "x.env",
        "env",
    )
    assert document.data == {
        "a": 8080,
        "b": "8080",
        "c": True,
        "d": "",
        "e": "hello world",
        "f": None,
        "g": "a\nb",
    }


def test_assignments_need_a_key_and_an_equals_sign() -> None:
    with pytest.raises(ConfigError, match=r"^--set: expected key=value, got 'oops'"):
        assignments_layer(["oops"])
    with pytest.raises(ConfigError, match=r"^--set: invalid key 'a..b'"):
        assignments_layer(["a..b=1"])


def test_layers_cannot_leave_the_project(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text("a: 1\n")
    project = tmp_path / "p"
    manifest = write_project(project, "config:\n  layers: [link.yaml]\n")
    (project / "link.yaml").symlink_to(outside)
    with pytest.raises(ManifestError, match="leaves the manifest's folder"):
        manager(manifest).layer_files()
