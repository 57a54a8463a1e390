"""PromQL evaluation cases as data (tests/monitor/promql/cases/*.yaml): series loaded
into a real store with write_samples, expressions evaluated through instant_query and
range_query, results compared to 1e-12 relative."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from shipway.errors import InputError
from shipway.monitor.metrics.storage import STALE_NAN
from shipway.monitor.query import instant_query, range_query, write_samples
from shipway.store import Store, open_store

CASES = Path(__file__).with_name("cases")
_SERIES = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)?(?:\{(.*)\})?$")
_TERM = re.compile(r"^(-?[0-9.]+(?:e[+-]?[0-9]+)?|NaN|Inf|-Inf)(?:([+-][0-9.]+)?x([0-9]+))?$")


def expand(values: str) -> list[float | None]:
    """Prometheus test notation: `a+bxN` is a, a+b, ..., a+N*b; `axN` repeats a N+1
    times; `_xN` is N gaps; `stale` is a staleness marker."""
    out: list[float | None] = []
    for term in values.split():
        if term == "stale":
            out.append(STALE_NAN)
            continue
        if term.startswith("_"):
            out.extend([None] * (int(term[2:]) if "x" in term else 1))
            continue
        m = _TERM.match(term)
        assert m, term
        start = float(m.group(1))
        if m.group(3) is None:
            out.append(start)
        else:
            step = float(m.group(2) or 0)
            out.extend(start + k * step for k in range(int(m.group(3)) + 1))
    return out


def parse_series(text: str) -> tuple[str, dict[str, str]]:
    m = _SERIES.match(text.strip())
    assert m, text
    labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
    return m.group(1) or labels.pop("__name__"), labels


def _files() -> Iterator[Any]:
    for path in sorted(CASES.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text())
        for i, case in enumerate(spec["cases"]):
            yield pytest.param(spec, case, id=f"{path.stem}-{i}-{case['expr']}")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Store]]:
    stores: dict[str, Store] = {}
    yield stores
    for store in stores.values():
        store.close()


def _store_for(spec: dict[str, Any], stores: dict[str, Store], tmp: Path) -> Store:
    key = str(id(spec))
    if key not in stores:
        store = open_store(f"sqlite:///{tmp / f'{len(stores)}.db'}")
        interval = float(spec["load"]["interval"])
        rows = []
        for text, values in spec["load"]["series"].items():
            name, labels = parse_series(text)
            for k, value in enumerate(expand(str(values))):
                if value is not None:
                    rows.append((name, labels, k * interval, value))
        write_samples(store, "cases", "test", rows)
        stores[key] = store
    return stores[key]


def _key(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= 1e-12 * max(abs(a), abs(b), 1e-300) or a == b


@pytest.mark.parametrize(("spec", "case"), list(_files()))
def test_case(
    spec: dict[str, Any],
    case: dict[str, Any],
    loaded: dict[str, Store],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    store = _store_for(spec, loaded, tmp_path_factory.mktemp("cases"))
    if "error" in case:
        with pytest.raises(InputError, match=case["error"]):
            instant_query(store, "cases", "test", case["expr"], float(case.get("at", 0)))
        return
    if "range" in case:
        start, end, step = case["range"]
        got_range = range_query(store, "cases", "test", case["expr"], start, end, step)
        want_range = [(e["labels"], [tuple(p) for p in e["points"]]) for e in case["expected"]]
        assert len(got_range) == len(want_range), got_range
        for labels, points in want_range:
            match = [p for lab, p in got_range if lab == labels]
            assert match, (labels, got_range)
            assert [t for t, _ in match[0]] == [t for t, _ in points]
            assert all(
                _close(a, float(b)) for (_, a), (_, b) in zip(match[0], points, strict=True)
            ), match[0]
        return
    got = instant_query(store, "cases", "test", case["expr"], float(case["at"]))
    want = [(e["labels"], float(e["value"])) for e in case["expected"]]
    assert sorted(_key(lab) for lab, _ in got) == sorted(_key(lab) for lab, _ in want), got
    for labels, value in want:
        found = next(v for lab, v in got if lab == labels)
        assert _close(found, value), (labels, found, value)
