"""Dependency files: what each kind declares, on which line, and the `file:line:col` of
what does not parse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipway.scanner.scanners.interface import ScanInputError
from shipway.scanner.sources import collect
from shipway.scanner.sources.interface import Dependency


def declared(root: Path) -> dict[tuple[str, str], tuple[str | None, str]]:
    """(ecosystem, name) -> (version, where) for everything under `root`."""
    out = {}
    for dep in collect(root):
        out[(dep.ecosystem, dep.name)] = (dep.version, str(dep.location))
    return out


def test_requirements_files(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "# pinned\n"
        "Django==4.2.1  # the web framework\n"
        "requests >= 2.31, == 2.31.0 \\\n"
        "    --hash=sha256:58cd2187c01e70e6e26505bca751777aa9f2ee0b7f4300988b709f44e013003f\n"
        "-r requirements/base.txt\n"
        "-e git+https://github.com/acme/tool.git#egg=tool\n"
        "--index-url https://pypi.org/simple\n"
        "flask>=2.0\n"
        "Jinja2===3.1.2\n"
        "urllib3==2.*\n"
        'pywin32==306; sys_platform == "win32"\n'
        "local-pkg @ file:///opt/local-pkg\n"
        "./vendor/thing.whl\n"
    )
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "base.txt").write_text("\n\nSQLAlchemy==2.0.30\n")
    found = declared(tmp_path)
    assert found[("PyPI", "django")] == ("4.2.1", "requirements.txt:2")
    assert found[("PyPI", "requests")] == ("2.31.0", "requirements.txt:3")
    assert found[("PyPI", "sqlalchemy")] == ("2.0.30", "requirements/base.txt:3")
    assert found[("PyPI", "flask")] == (None, "requirements.txt:8")
    assert found[("PyPI", "jinja2")] == ("3.1.2", "requirements.txt:9")
    assert found[("PyPI", "urllib3")][0] is None
    assert found[("PyPI", "pywin32")] == ("306", "requirements.txt:11")
    assert not {("PyPI", "tool"), ("PyPI", "local-pkg")} & found.keys()


def test_requirements_include_outside_the_root_is_refused(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "secret.txt").write_text("x==1\n")
    (tmp_path / "app" / "requirements.txt").write_text("ok==1\n-r ../secret.txt\n")
    with pytest.raises(
        ScanInputError, match=r"requirements.txt:2: included file '../secret.txt' is outside"
    ):
        collect(tmp_path / "app")


def test_bad_requirement_names_its_line(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("flask==2.0\nthis is not a requirement!\n")
    with pytest.raises(ScanInputError) as caught:
        collect(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / 'requirements.txt'}:2:1: invalid requirement")
    assert "\n" not in str(caught.value)


def test_pyproject_pep621_and_poetry(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[project]\n"
        'name = "app"\n'
        "dependencies = [\n"
        '    "httpx==0.27.0",\n'
        "    'pydantic>=2',\n"
        "]\n"
        "[project.optional-dependencies]\n"
        'test = ["pytest==8.2.0"]\n'
        "[dependency-groups]\n"
        'lint = ["ruff==0.6.0", {include-group = "test"}]\n'
        "[tool.poetry.dependencies]\n"
        'python = "^3.11"\n'
        'fastapi = "0.110.0"\n'
        'uvicorn = {version = "==0.29.0", extras = ["standard"]}\n'
        'starlette = "^0.37"\n'
        'mylib = {git = "https://github.com/acme/mylib.git"}\n'
        "[tool.poetry.group.dev.dependencies]\n"
        'mypy = "1.10.0"\n'
    )
    found = declared(tmp_path)
    assert found[("PyPI", "httpx")] == ("0.27.0", "pyproject.toml:4")
    assert found[("PyPI", "pydantic")] == (None, "pyproject.toml:5")
    assert found[("PyPI", "pytest")] == ("8.2.0", "pyproject.toml:8")
    assert found[("PyPI", "ruff")] == ("0.6.0", "pyproject.toml:10")
    assert found[("PyPI", "fastapi")] == ("0.110.0", "pyproject.toml:13")
    assert found[("PyPI", "uvicorn")] == ("0.29.0", "pyproject.toml:14")
    assert found[("PyPI", "starlette")] == (None, "pyproject.toml:15")
    assert found[("PyPI", "mypy")] == ("1.10.0", "pyproject.toml:18")
    assert ("PyPI", "mylib") not in found
    assert ("PyPI", "python") not in found


def test_bad_toml_names_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = [\n  "a==1"\n  "b==2"]\n'
    )
    with pytest.raises(ScanInputError, match=r"pyproject.toml:5:3: invalid TOML"):
        collect(tmp_path)


def test_poetry_and_uv_lockfiles(tmp_path: Path) -> None:
    (tmp_path / "poetry.lock").write_text(
        '[[package]]\nname = "certifi"\nversion = "2024.2.2"\n\n'
        '[[package]]\nname = "mylib"\nversion = "0.1.0"\n[package.source]\ntype = "git"\n'
        'url = "https://github.com/acme/mylib.git"\n\n'
        '[[package]]\nname = "Jinja2"\nversion = "3.1.3"\n'
    )
    sub = tmp_path / "svc"
    sub.mkdir()
    (sub / "uv.lock").write_text(
        'version = 1\n\n[[package]]\nname = "svc"\nversion = "0.1.0"\n'
        'source = { editable = "." }\n\n'
        '[[package]]\nname = "idna"\nversion = "3.7"\n'
        'source = { registry = "https://pypi.org/simple" }\n'
    )
    found = declared(tmp_path)
    assert found[("PyPI", "certifi")] == ("2024.2.2", "poetry.lock:2")
    assert found[("PyPI", "jinja2")] == ("3.1.3", "poetry.lock:13")
    assert found[("PyPI", "idna")] == ("3.7", "svc/uv.lock:9")
    assert not {("PyPI", "mylib"), ("PyPI", "svc")} & found.keys()


def test_pipfile_lock(tmp_path: Path) -> None:
    data = {
        "_meta": {"hash": {"sha256": "0" * 64}},
        "default": {"requests": {"version": "==2.31.0", "hashes": []}, "local": {"path": "."}},
        "develop": {"pytest": {"version": "==8.2.0"}},
    }
    (tmp_path / "Pipfile.lock").write_text(json.dumps(data, indent=4))
    found = declared(tmp_path)
    assert found[("PyPI", "requests")] == ("2.31.0", "Pipfile.lock:8")
    assert found[("PyPI", "pytest")][0] == "8.2.0"
    assert ("PyPI", "local") not in found


def test_package_lock_v3_and_v1(tmp_path: Path) -> None:
    v3 = {
        "name": "web",
        "lockfileVersion": 3,
        "packages": {
            "": {"name": "web", "version": "1.0.0"},
            "node_modules/lodash": {"version": "4.17.20"},
            "node_modules/a/node_modules/@scope/b": {"version": "2.0.0-beta.1"},
            "node_modules/linked": {"link": True, "resolved": "../linked"},
        },
    }
    (tmp_path / "package-lock.json").write_text(json.dumps(v3, indent=2))
    old = tmp_path / "old"
    old.mkdir()
    v1 = {"lockfileVersion": 1, "dependencies": {"minimist": {"version": "0.0.8",
          "dependencies": {"mkdirp": {"version": "0.5.1"}}}}}  # fmt: skip
    (old / "package-lock.json").write_text(json.dumps(v1, indent=2))
    found = declared(tmp_path)
    assert found[("npm", "lodash")] == ("4.17.20", "package-lock.json:9")
    assert found[("npm", "@scope/b")][0] == "2.0.0-beta.1"
    assert found[("npm", "minimist")] == ("0.0.8", "old/package-lock.json:4")
    assert found[("npm", "mkdirp")][0] == "0.5.1"
    assert ("npm", "linked") not in found
    assert ("npm", "web") not in found


def test_bad_json_names_line_and_column(tmp_path: Path) -> None:
    (tmp_path / "package-lock.json").write_text('{\n  "packages": {\n    "x": \n}\n')
    with pytest.raises(ScanInputError, match=r"package-lock.json:4:1: invalid JSON"):
        collect(tmp_path)


def test_virtualenvs_and_node_modules_are_skipped(tmp_path: Path) -> None:
    for folder in ("node_modules/x", "env", ".venv"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "requirements.txt").write_text("skipped==1.0\n")
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (tmp_path / "requirements.txt").write_text("kept==1.0\n")
    assert [d.name for d in collect(tmp_path)] == ["kept"]


def test_dependency_records_are_frozen() -> None:
    from shipway.scanner.findings import Location

    dep = Dependency("PyPI", "x", "1", Location("r.txt", 1), "x==1")
    with pytest.raises(AttributeError):
        dep.version = "2"  # type: ignore[misc]
