"""The environment's lease, held by a `provision` command while it changes resources.

It is the lease deployments take (`orchestrator/names.py`), so a CLI apply and a
deployment of the same environment never change its resources at once: the second one is
blocked (exit 3), as Terraform's state lock does. The lease is short and renewed while the
command runs, so a killed command does not block the environment for long.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from shipway.orchestrator.names import lease_key
from shipway.store import Store

TTL = 60.0
RENEW_EVERY = 15.0


@contextmanager
def environment_lock(store: Store, project: str, environment: str) -> Iterator[str]:
    """Hold `project/environment`'s lease (LeaseHeldError when a deployment has it)."""
    key = lease_key(project, environment)
    holder = f"provision-{uuid.uuid4().hex[:12]}"
    store.leases.acquire(key, holder, TTL)
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(RENEW_EVERY):
            store.leases.renew(key, holder, TTL)

    thread = threading.Thread(target=renew, name="shipway-provision-lease", daemon=True)
    thread.start()
    try:
        yield holder
    finally:
        stop.set()
        thread.join(5)
        store.leases.release(key, holder)
