"""A separate process for the store's cross-process race tests (run by conftest.run_workers).

    race_worker.py START_AT open URL
    race_worker.py START_AT lease URL KEY HOLDER

Waits until the wall-clock time START_AT, does one thing, prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time

from shipway.errors import LeaseHeldError
from shipway.store import open_store


def main(argv: list[str]) -> None:
    start_at, mode, url = float(argv[0]), argv[1], argv[2]
    if mode == "open":
        time.sleep(max(0.0, start_at - time.time()))
        store = open_store(url)
        print(json.dumps({"ok": True, "dialect": store.dialect}))
        store.close()
        return
    key, holder = argv[3], argv[4]
    store = open_store(url)
    time.sleep(max(0.0, start_at - time.time()))
    try:
        lease = store.leases.acquire(key, holder, 60)
        print(json.dumps({"won": True, "holder": lease.holder}))
    except LeaseHeldError as e:
        print(json.dumps({"won": False, "holder": e.holder}))
    finally:
        store.close()


if __name__ == "__main__":
    main(sys.argv[1:])
