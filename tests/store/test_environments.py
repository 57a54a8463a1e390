"""Environment blocks: a rolled-back digest may not be redeployed until cleared."""

from __future__ import annotations

from shipway.store import DeploymentRecord, Store


def test_block_inspect_and_clear(store: Store, deployment: DeploymentRecord) -> None:
    assert store.environments.blocked("shop/staging") is None
    block = store.environments.block("shop/staging", "sha256:bad", deployment.id, "rolled back")
    assert store.environments.blocked("shop/staging") == block
    assert (block.digest, block.deployment_id, block.reason) == (
        "sha256:bad",
        deployment.id,
        "rolled back",
    )
    assert block.created_at.tzinfo is not None
    assert store.environments.blocked("shop/prod") is None
    assert store.environments.clear("shop/staging") is True
    assert store.environments.blocked("shop/staging") is None
    assert store.environments.clear("shop/staging") is False


def test_a_new_block_replaces_the_old_one(store: Store) -> None:
    store.environments.block("shop/prod", "sha256:one", None, "first")
    replaced = store.environments.block("shop/prod", "sha256:two", None, "second")
    assert store.environments.blocked("shop/prod") == replaced
    assert replaced.digest == "sha256:two" and replaced.deployment_id is None
