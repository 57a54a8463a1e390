"""Configuration files rendered from Jinja2 templates (`config.files`): checked when the
configuration resolves, kept in the version, rendered with secrets only when a service
process starts, into a private folder that goes away when the process stops."""

from __future__ import annotations

import hashlib
import os
import stat
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from shipway.config import ConfigError
from shipway.config.secrets.keys import new_master_key
from shipway.config.versions import diff
from shipway.errors import ManifestError
from shipway.store import Store

from .conftest import free_port, resolve, shipway, write_project

CANARY = "CANARY-" + hashlib.sha256(b"shipway template canary").hexdigest()[:24]

FILES = """\
config:
  layers: [config/base.yaml]
  files:
    - {template: templates/app.ini.j2, service: api, path: app.ini}
services:
  api:
    run: python -c pass
"""

BASE = """\
db:
  host: db.internal
  password: ${secret:db_password}
hosts: [a, b]
"""

TEMPLATE = """\
[db]
host = {{ config.db.host }}
password = {{ config.db.password }}
{% for host in config.hosts %}peer = {{ host }}
{% endfor %}"""


def _project(tmp_path: Path, template: str, config: str = FILES) -> Path:
    return write_project(
        tmp_path,
        config,
        {"config/base.yaml": BASE, "templates/app.ini.j2": template},
    )


def test_the_version_keeps_each_template_and_its_service(tmp_path: Path) -> None:
    version = resolve(_project(tmp_path, TEMPLATE)).version()
    [file] = version.files
    assert (file.service, file.path, file.mode) == ("api", "app.ini", "0600")
    assert file.source == TEMPLATE
    assert version.content["files"][0]["template"] == "templates/app.ini.j2"
    assert version.files_of("api") == [file]
    assert version.files_of("worker") == []


def test_a_changed_template_is_a_new_version_and_shows_in_the_diff(tmp_path: Path) -> None:
    first = resolve(_project(tmp_path, TEMPLATE)).version()
    (tmp_path / "templates" / "app.ini.j2").write_text(TEMPLATE + "extra = 1\n")
    second = resolve(tmp_path / "shipway.yaml").version()
    assert first.id != second.id
    [change] = diff(first, second)
    assert change.key == "file api:app.ini"
    assert change.kind == "changed"
    assert "templates/app.ini.j2" in str(change.new)


def test_versions_without_files_keep_their_ids(tmp_path: Path) -> None:
    manifest = write_project(
        tmp_path, "config:\n  layers: [config/base.yaml]\n", {"config/base.yaml": "a: 1\n"}
    )
    version = resolve(manifest).version()
    assert "files" not in version.content
    assert (
        version.id
        == "sha256:" + hashlib.sha256(b'{"format":1,"secrets":[],"values":{"a":1}}').hexdigest()
    )


def test_a_syntax_error_points_at_the_template_line(tmp_path: Path) -> None:
    manifest = _project(tmp_path, "line one\nline two\n{{ config.db.host }\n")
    with pytest.raises(ConfigError) as caught:
        resolve(manifest)
    assert caught.value.path == str(tmp_path / "templates" / "app.ini.j2")
    assert caught.value.line == 3
    assert "template syntax error" in caught.value.reason


def test_an_unknown_key_fails_at_resolve_time_with_its_line(tmp_path: Path) -> None:
    manifest = _project(tmp_path, "a = {{ config.db.host }}\nb = {{ config.db.port }}\n")
    with pytest.raises(ConfigError) as caught:
        resolve(manifest)
    assert caught.value.line == 2
    assert "has no attribute 'port'" in caught.value.reason


@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ config.hosts.append('x') }}",
        "{{ config.__class__ }}",
    ],
)
def test_the_sandbox_refuses_python_internals_and_mutation(tmp_path: Path, body: str) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve(_project(tmp_path, body))
    assert "unsafe" in caught.value.reason


def test_a_file_for_an_unknown_service_is_a_manifest_error(tmp_path: Path) -> None:
    manifest = _project(tmp_path, TEMPLATE, FILES.replace("service: api", "service: apj"))
    with pytest.raises(ManifestError) as caught:
        resolve(manifest)
    assert "unknown service 'apj'" in caught.value.reason
    assert caught.value.line is not None


@pytest.mark.parametrize("path", ["../escape.ini", "/etc/passwd", "a/./b"])
def test_a_file_path_must_stay_in_the_config_folder(tmp_path: Path, path: str) -> None:
    _project(tmp_path, TEMPLATE, FILES.replace("path: app.ini", f"path: {path}"))
    done = shipway("config", "render", "-e", "dev", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "shipway.yaml:12:" in done.stderr
    assert "config.files[0].path" in done.stderr
    assert "Traceback" not in done.stderr


def test_cli_render_reports_a_template_error_as_file_line(tmp_path: Path) -> None:
    _project(tmp_path, "ok\n{{ config.missing }}\n")
    done = shipway("config", "render", "-e", "dev", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: templates/app.ini.j2:2: template error:")
    assert len(done.stderr.strip().splitlines()) == 1


RELEASED = """\
version: 1
project: templated
environments:
  dev: {{target: local}}
config:
  layers: [config/base.yaml]
  files:
    - {{template: templates/app.ini.j2, service: api, path: app.ini}}
    - {{template: templates/public.txt.j2, service: api, path: sub/public.txt, mode: "0640"}}
  reload:
    api: {{signal: HUP}}
services:
  api:
    run: python serve.py ${{port}} ${{config_dir}}
    workdir: app
    port: {port}
    health: {{http: /sub/public.txt, interval: 0.2s, healthy_after: 1}}
"""


SERVE = """\
import functools, http.server, signal, sys
signal.signal(signal.SIGHUP, lambda *_: print("reload", flush=True))
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
"""


def _pid(project: Path) -> int | None:
    store = Store.open(f"sqlite:///{project / '.shipway' / 'state.db'}")
    try:
        [process] = [p for p in store.processes.list("templated", "dev") if p.state == "running"]
        return process.pid
    finally:
        store.close()


def _get(url: str, deadline: float) -> str:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return str(answer.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.mark.slow
def test_a_rendered_file_reaches_the_process_and_leaves_no_secret_behind(
    tmp_path: Path, cli: Any
) -> None:
    """Through the real agent: the file is rendered with the secret into the process's
    private folder (0700, the file's own mode), served by the process, absent from the
    release folder, the store and the events, and removed when the service stops; a
    changed template deploys as a new version, a rollback renders the old one, and a live
    update re-renders the files of the running process without restarting it."""
    project = tmp_path / "project"
    (project / "app").mkdir(parents=True)
    (project / "app" / "serve.py").write_text(SERVE)
    port = free_port()
    (project / "shipway.yaml").write_text(RELEASED.format(port=port))
    (project / "config").mkdir()
    (project / "config" / "base.yaml").write_text(BASE)
    (project / "templates").mkdir()
    (project / "templates" / "app.ini.j2").write_text(TEMPLATE)
    (project / "templates" / "public.txt.j2").write_text("{{ project }}/{{ environment }}\n")
    env = {"SHIPWAY_MASTER_KEY": new_master_key()}
    done = cli("secrets", "set", "-e", "dev", "db_password", cwd=project, input=CANARY, env=env)
    assert done.returncode == 0, done.stderr
    files_root = project / ".shipway" / "run" / "files"
    try:
        assert shipway("agent", "start", cwd=project, env=env).returncode == 0
        first = cli("deploy", "-e", "dev", cwd=project, env=env)
        assert first.returncode == 0, first.stdout + first.stderr
        served = _get(f"http://127.0.0.1:{port}/app.ini", time.monotonic() + 15)
        assert f"password = {CANARY}" in served
        assert "peer = a\npeer = b\n" in served
        assert _get(f"http://127.0.0.1:{port}/sub/public.txt", time.monotonic() + 5) == (
            "templated/dev\n"
        )
        [folder] = list(files_root.iterdir())
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE((folder / "app.ini").stat().st_mode) == 0o600
        assert stat.S_IMODE((folder / "sub" / "public.txt").stat().st_mode) == 0o640
        kept = [
            str(path)
            for path in (project / ".shipway").rglob("*")
            if path.is_file()
            and folder not in path.parents
            and CANARY.encode() in path.read_bytes()
        ]
        assert kept == []

        (project / "templates" / "app.ini.j2").write_text(TEMPLATE + "generation = 2\n")
        second = cli("deploy", "-e", "dev", cwd=project, env=env)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "generation = 2" in _get(f"http://127.0.0.1:{port}/app.ini", time.monotonic() + 5)
        # The first release's process stopped: its folder is gone, only the new one stays.
        assert len(list(files_root.iterdir())) == 1

        back = cli("rollback", "-e", "dev", cwd=project, env=env)
        assert back.returncode == 0, back.stdout + back.stderr
        served = _get(f"http://127.0.0.1:{port}/app.ini", time.monotonic() + 5)
        assert "generation" not in served
        assert f"password = {CANARY}" in served

        # A live update re-renders the running process's files; it does not restart.
        pid = _pid(project)
        (project / "config" / "base.yaml").write_text(BASE.replace("db.internal", "db2.internal"))
        live = cli("config", "apply", "-e", "dev", "--live", cwd=project, env=env)
        assert live.returncode == 0, live.stdout + live.stderr
        served = _get(f"http://127.0.0.1:{port}/app.ini", time.monotonic() + 5)
        assert "host = db2.internal" in served
        assert f"password = {CANARY}" in served
        assert _pid(project) == pid
    finally:
        shipway("agent", "stop", cwd=project, env=env)
    assert not files_root.exists() or list(files_root.iterdir()) == []
    live_root = project / ".shipway" / "run" / "files-live"
    assert not live_root.exists() or list(live_root.iterdir()) == []
    leaked = [
        str(path)
        for path in (project / ".shipway").rglob("*")
        if path.is_file() and CANARY.encode() in path.read_bytes()
    ]
    assert leaked == []
    store = Store.open(f"sqlite:///{project / '.shipway' / 'state.db'}")
    try:
        releases = store.releases.list("templated", "dev")
        assert len(releases) >= 2
        assert all("${secret:db_password}" in str(r.services) for r in releases)
    finally:
        store.close()
    assert os.environ.get("SHIPWAY_MASTER_KEY") != env["SHIPWAY_MASTER_KEY"]
