"""Plan limits hold under concurrency, on DynamoDB Local (moto is not thread-safe): however many
changes count the account's health scores at the same moment, never more live scores or drafts
than the plan allows — the plan guard lets one of them land, the others get a Conflict and, on
retry, the plan's limit."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from healthscore.domain.access import Caller
from healthscore.domain.errors import Conflict
from healthscore.domain.plans import PLAN_LIMITS, Plan, PlanLimitExceeded
from healthscore.services.definitions import Definitions
from tests.api.conftest import Stack
from tests.api.test_definitions_api import minimal, seeded

WHO = Caller("acme", "u", frozenset({"manage_customer_success_settings"}), frozenset({"service"}))


def all_count_at_once(stack: Stack, parties: int) -> Callable[[], None]:
    """Every thread's first count of the definitions waits until all of them have counted."""
    barrier = threading.Barrier(parties)
    counted = threading.local()
    real = stack.store.definitions

    def definitions(account: str) -> Any:
        found = real(account)
        if not getattr(counted, "once", False):
            counted.once = True
            barrier.wait(timeout=20)
        return found

    stack.store.definitions = definitions  # type: ignore[method-assign]

    def restore() -> None:
        stack.store.definitions = real  # type: ignore[method-assign]

    return restore


def race(attempts: list[Callable[[], None]]) -> list[str]:
    """Run each attempt in its own thread, retrying on Conflict; what each ended with."""
    outcomes: list[str] = []

    def run(attempt: Callable[[], None]) -> None:
        for _ in range(20):
            try:
                attempt()
                outcomes.append("landed")
                return
            except Conflict:
                continue
            except PlanLimitExceeded:
                outcomes.append("limit")
                return
            except Exception as error:
                outcomes.append(repr(error))
                return
        outcomes.append("gave up")

    threads = [threading.Thread(target=run, args=(a,)) for a in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(outcomes)


@pytest.mark.parametrize("stack", ["dynamodb-local"], indirect=True)
def test_eight_concurrent_creates_leave_five_drafts(stack: Stack) -> None:
    seeded(stack)
    service = Definitions(stack.store, lambda account, job: None)
    limit = PLAN_LIMITS[Plan.PROFESSIONAL].drafts
    restore = all_count_at_once(stack, 8)
    outcomes = race([lambda: service.create_definition(WHO, minimal()) for _ in range(8)])
    restore()
    assert outcomes == ["landed"] * limit + ["limit"] * (8 - limit)
    assert len(stack.store.definitions("acme")) == limit


@pytest.mark.parametrize("stack", ["dynamodb-local"], indirect=True)
def test_two_drafts_turned_on_at_once_leave_one_live(stack: Stack) -> None:
    admin = seeded(stack)
    drafts = [admin.post("/definitions", minimal(name=f"Score {n}")).body for n in (1, 2)]
    service = Definitions(stack.store, lambda account, job: None)
    restore = all_count_at_once(stack, 2)

    def turn_on(draft: dict[str, Any]) -> Callable[[], None]:
        def attempt() -> None:
            current = stack.store.definition("acme", draft["id"])
            assert current is not None
            service.turn_on(WHO, draft["id"], current.version)

        return attempt

    outcomes = race([turn_on(d) for d in drafts])
    restore()
    assert outcomes == ["landed", "limit"]
    states = sorted(d.state for d in stack.store.definitions("acme"))
    assert states == ["draft", "live"]
    jobs = [d.last_job for d in stack.store.definitions("acme") if d.last_job]
    assert len(jobs) == 1  # the turn-on that lost left no job behind
    assert stack.store.job("acme", jobs[0]) is not None
