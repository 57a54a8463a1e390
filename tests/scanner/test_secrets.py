"""The secrets scanner on a generated, labeled corpus (tests/scanner/corpus.py): 40+ kinds
of real-format credentials in code, configuration, notebooks, .env files, prose and git
history, beside 250 hard negatives. Precision and recall are measured by file, line and
commit, and must both reach 0.95."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from shipway.scanner.findings import Finding
from shipway.scanner.scanners.interface import ScanTarget
from shipway.scanner.scanners.secrets import SecretScanner
from shipway.scanner.secrets.detector import SecretDetector, redact
from tests.scanner.corpus import B64, Corpus, build_corpus, git

# Corpus kinds whose rule has another name (the corpus names formats, rules name findings).
RULE_FOR_KIND = {
    "openssh-private-key": "private-key",
    "database-url-password": "url-credentials",
    "password": "password-assignment",
    "generic-api-token": "generic-secret",
    "django-secret-key": "generic-secret",
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return build_corpus(tmp_path_factory.mktemp("corpus"), seed=7)


@pytest.fixture(scope="module")
def findings(corpus: Corpus) -> list[Finding]:
    return list(SecretScanner().scan(ScanTarget(corpus.root)))


def test_corpus_is_what_the_issue_asks_for(corpus: Corpus) -> None:
    assert len(corpus.kinds) >= 30
    assert corpus.negatives >= 200
    suffixes = {Path(p.path).suffix or Path(p.path).name for p in corpus.planted}
    assert {".py", ".yaml", ".json", ".ipynb", ".env", ".md"} <= suffixes
    assert any(p.commit for p in corpus.planted), "nothing planted in git history only"


def test_precision_and_recall(corpus: Corpus, findings: list[Finding]) -> None:
    truth = {(p.path, p.line, p.commit): p for p in corpus.planted}
    found = {(f.location.path, f.location.line, f.location.commit): f for f in findings}
    hits = truth.keys() & found.keys()
    precision = len(hits) / len(found)
    recall = len(hits) / len(truth)
    false_positives = sorted(found.keys() - truth.keys(), key=str)
    missed = sorted((truth[k].kind, k) for k in truth.keys() - found.keys())
    print(f"\nsecrets corpus: precision {precision:.3f}, recall {recall:.3f} "
          f"({len(hits)} of {len(truth)} planted, {len(found)} findings)")  # fmt: skip
    assert precision >= 0.95, false_positives
    assert recall >= 0.95, missed


def test_findings_name_the_right_kind(corpus: Corpus, findings: list[Finding]) -> None:
    by_place = {(f.location.path, f.location.line, f.location.commit): f for f in findings}
    wrong = []
    for planted in corpus.planted:
        finding = by_place.get((planted.path, planted.line, planted.commit))
        expected = "secret." + RULE_FOR_KIND.get(planted.kind, planted.kind)
        if finding is not None and finding.rule != expected:
            wrong.append((planted.kind, finding.rule))
    assert not wrong


def test_findings_never_carry_the_value(corpus: Corpus, findings: list[Finding]) -> None:
    text = repr(findings)
    for planted in corpus.planted:
        assert planted.value not in text
        assert planted.value[-12:] not in text
    assert all("*" in f.properties["redacted"] for f in findings)


def test_history_only_secrets_name_the_commit_that_added_them(
    corpus: Corpus, findings: list[Finding]
) -> None:
    historical = [p for p in corpus.planted if p.commit]
    assert historical
    located = {(f.location.path, f.location.line): f for f in findings if f.location.commit}
    for planted in historical:
        finding = located[(planted.path, planted.line)]
        assert finding.location.commit == planted.commit
        assert "was committed" in finding.title


def test_a_committed_secret_in_the_tree_is_reported_once(
    corpus: Corpus, findings: list[Finding]
) -> None:
    # Everything in the tree was committed by the corpus's first commit.
    first = git(corpus.root, "rev-list", "--max-parents=0", "HEAD")
    tree = [f for f in findings if f.location.commit is None]
    assert tree and all(f.properties.get("git_commit") == first for f in tree)
    assert len({f.id for f in findings}) == len(findings)


def test_the_pragma_and_placeholders(tmp_path: Path) -> None:
    token = "ghp_" + "Q7w3Er5Ty8Ui0Op2As4Df6Gh9Jk1Lz3Xc5Vb7"[:36]
    (tmp_path / "a.py").write_text(
        f'TOKEN = "{token}"  # shipway:ignore-secret (a revoked test token)\n'
        'EXAMPLE = "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"\n'
        "AWS = 'AKIAIOSFODNN7EXAMPLE'\n"
        f'OTHER = "{token[:-1]}Z"\n'
    )
    findings = list(SecretScanner().scan(ScanTarget(tmp_path)))
    assert [(f.rule, f.location.line) for f in findings] == [("secret.github-pat", 4)]


def test_binary_files_and_skipped_folders(tmp_path: Path) -> None:
    token = "npm_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01" + token.encode())
    (tmp_path / ".shipway" / "artifacts").mkdir(parents=True)
    (tmp_path / ".shipway" / "artifacts" / "x.txt").write_text(token)
    (tmp_path / "node_modules").mkdir()
    (tmp_path / "node_modules" / "y.js").write_text(token)
    assert list(SecretScanner().scan(ScanTarget(tmp_path))) == []


def test_history_scan_stays_inside_the_scanned_folder(tmp_path: Path) -> None:
    """Scanning a subfolder of a repository reads only that folder's history."""
    (tmp_path / "app").mkdir()
    (tmp_path / "other").mkdir()
    token = "glpat-" + "Ab3De5Gh7Jk9Mn1Pq3St"
    (tmp_path / "other" / "x.env").write_text(f"GITLAB_TOKEN={token}\n")
    (tmp_path / "app" / "main.py").write_text("print('hi')\n")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "one")
    assert list(SecretScanner().scan(ScanTarget(tmp_path / "app"))) == []
    found = list(SecretScanner().scan(ScanTarget(tmp_path)))
    assert [str(f.location) for f in found] == ["other/x.env:1:14"]


def test_history_without_commits_is_empty(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert list(SecretScanner().scan(ScanTarget(tmp_path))) == []


def test_redaction_shows_the_format_not_the_secret() -> None:
    assert redact("ghp_" + "a" * 36, 4) == "ghp_******** (40 chars)"
    assert redact("hunter2hunter2", 0) == "******** (14 chars)"
    # A short value never shows more than a fifth of itself.
    assert redact("sk_live_abc", 8) == "sk******** (11 chars)"


def test_private_key_in_json_with_escaped_newlines() -> None:
    rng = random.Random(3)
    body = "\\n".join("".join(rng.choice(B64) for _ in range(64)) for _ in range(8))
    text = (
        '{"private_key": "-----BEGIN RSA PRIVATE KEY-----\\n'
        + body
        + '\\n-----END RSA PRIVATE KEY-----\\n"}'
    )
    kinds = [m.kind for m in SecretDetector().find(text)]
    assert kinds == ["private-key"]
    elided = "-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n-----END RSA PRIVATE KEY-----\n"
    assert SecretDetector().find(elided) == []
