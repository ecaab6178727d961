"""HubSpot's CRM through its official SDK (`hubspot-api-client`): pages of objects, objects
modified since an instant, associations v4 with labels, and the write-back's properties and batch
updates — within HubSpot's limits: requests are paced (at most `per_ten_seconds` in any 10 s,
under a private app's 190 so other integrations of the portal keep room), every call honours 429
and Retry-After and retries server errors with backoff, and the calls are counted."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.associations.v4.exceptions import ApiException as AssociationsApiException
from hubspot.crm.objects import PublicObjectSearchRequest
from hubspot.crm.objects.exceptions import ApiException as ObjectsApiException
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException
from urllib3.exceptions import HTTPError
from urllib3.util.retry import Retry

from healthscore.adapters.hubspot_errors import HubSpotUnavailable

PER_TEN_SECONDS = 150  # a private app may send 190 per 10 s; leave the portal's others room
PAGE = 100  # HubSpot's largest page for lists; associations are read 100 ids at a time
SEARCH_PAGE = 200  # and for searches (which stop at 10,000 results: see `modified_since`)
T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    results: list[dict[str, Any]]
    after: str | None  # the cursor of the next page; None on the last


class HubSpotCrm:
    def __init__(
        self,
        token: str,
        base_url: str | None = None,
        *,
        retries: int = 8,
        per_ten_seconds: int = PER_TEN_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # urllib3 would retry a 429 on its own, sleeping through Retry-After unseen: the retries
        # are ours (counted, and bounded), so it retries nothing
        options: dict[str, Any] = {"access_token": token, "retry": Retry(total=False)}
        if base_url:
            options["host"] = base_url.rstrip("/")
        self.client = HubSpot(**options)
        self.retries, self.sleep, self.clock = retries, sleep, clock
        self.requests = 0
        self.throttled = 0
        self.paced = 0.0  # seconds spent waiting for the pace
        self._limit = per_ten_seconds
        self._sent: deque[float] = deque()  # when the last `_limit` requests went out

    def page(self, object_type: str, properties: list[str], after: str | None = None) -> Page:
        """One page of every object of a type, by id."""
        answer = self._call(
            lambda: self.client.crm.objects.basic_api.get_page(
                object_type, limit=PAGE, after=after, properties=properties, archived=False
            )
        )
        return _page(answer)

    def modified_since(
        self, object_type: str, properties: list[str], since: datetime, after: str | None = None
    ) -> Page:
        """One page of the objects modified at or after `since`, oldest change first."""
        request = PublicObjectSearchRequest(
            filter_groups=[
                {
                    "filters": [
                        {
                            "propertyName": "hs_lastmodifieddate",
                            "operator": "GTE",
                            "value": str(int(since.timestamp() * 1000)),
                        }
                    ]
                }
            ],
            sorts=["hs_lastmodifieddate"],
            properties=properties,
            limit=SEARCH_PAGE,
            after=after or "0",
        )
        answer = self._call(
            lambda: self.client.crm.objects.search_api.do_search(
                object_type, public_object_search_request=request
            )
        )
        return _page(answer)

    def associations(
        self, from_type: str, to_type: str, ids: list[str]
    ) -> dict[str, list[tuple[str, list[str]]]]:
        """For each id (≤ 100), the records of `to_type` it is associated with and the labels."""
        found: dict[str, list[tuple[str, list[str]]]] = {}
        inputs = [PublicFetchAssociationsBatchRequest(id=i) for i in ids]
        while inputs:
            body = BatchInputPublicFetchAssociationsBatchRequest(inputs=inputs)
            answer = self._call(
                lambda body=body: self.client.crm.associations.v4.batch_api.get_page(  # type: ignore[misc]
                    from_type, to_type, batch_input_public_fetch_associations_batch_request=body
                )
            )
            inputs = []
            for result in answer.results or []:
                links = found.setdefault(str(result._from.id), [])
                for target in result.to or []:
                    labels = [t.label for t in target.association_types or [] if t.label]
                    links.append((str(target.to_object_id), labels))
                if result.paging is not None and result.paging.next is not None:
                    inputs.append(
                        PublicFetchAssociationsBatchRequest(
                            id=result._from.id, after=result.paging.next.after
                        )
                    )
        return found

    # -- write-back ----------------------------------------------------------------------------
    # HubSpot's bodies are passed as the JSON its documents describe (the SDK sends dicts as
    # they are): one representation, the domain's (domain/hubspot_writeback.py).

    def ensure_group(self, object_type: str, group: dict[str, Any]) -> bool:
        """Create the property group unless it exists; whether it was created."""
        groups = self.client.crm.properties.groups_api
        if self._found(lambda: groups.get_by_name(object_type, group["name"])) is not None:
            return False
        self._call(lambda: groups.create(object_type, property_group_create=group))
        return True

    def property(self, object_type: str, name: str) -> dict[str, Any] | None:
        api = self.client.crm.properties.core_api
        found = self._found(lambda: api.get_by_name(object_type, name))
        if found is None:
            return None
        as_json: dict[str, Any] = api.api_client.sanitize_for_serialization(found)
        return as_json

    def create_property(self, object_type: str, spec: dict[str, Any]) -> None:
        self._call(
            lambda: self.client.crm.properties.core_api.create(object_type, property_create=spec)
        )

    def update_property(self, object_type: str, name: str, update: dict[str, Any]) -> None:
        self._call(
            lambda: self.client.crm.properties.core_api.update(
                object_type, name, property_update=update
            )
        )

    def batch_update(self, object_type: str, inputs: list[dict[str, Any]]) -> None:
        """Set properties of ≤ 100 records in one call."""
        body = {"inputs": inputs}
        self._call(
            lambda: self.client.crm.objects.batch_api.update(
                object_type, batch_input_simple_public_object_batch_input=body
            )
        )

    def _found(self, call: Callable[[], T]) -> T | None:
        try:
            return self._call(call)
        except HubSpotUnavailable as error:
            if getattr(error.__cause__, "status", None) == 404:
                return None
            raise

    def _call(self, call: Callable[[], T]) -> T:
        """The call, again after a 429 (as long as Retry-After says) or a 5xx (backing off)."""
        for attempt in range(self.retries + 1):
            self._pace()
            self.requests += 1
            try:
                return call()
            except HTTPError as error:  # the connection itself: refused, reset, timed out
                if attempt == self.retries:
                    raise HubSpotUnavailable(f"cannot reach HubSpot: {error}") from error
                self.sleep(_wait(None, attempt))
                continue
            except (ObjectsApiException, AssociationsApiException, PropertiesApiException) as error:
                status = int(error.status or 0)
                if status == 429 or status >= 500 or status == 0:
                    if attempt == self.retries:
                        raise HubSpotUnavailable(
                            f"HubSpot answered {status} {self.retries + 1} times in a row; "
                            "try again later"
                        ) from error
                    if status == 429:
                        self.throttled += 1
                    self.sleep(_wait(error, attempt))
                    continue
                raise HubSpotUnavailable(
                    f"HubSpot refused the request: {status} {_message(error)}"
                ) from error
        raise AssertionError("unreachable")

    def _pace(self) -> None:
        """Wait until fewer than `_limit` requests went out in the last 10 s."""
        now = self.clock()
        while self._sent and now - self._sent[0] >= 10.0:
            self._sent.popleft()
        if len(self._sent) >= self._limit:
            wait = 10.0 - (now - self._sent[0])
            self.paced += wait
            self.sleep(wait)
            now = self.clock()
            self._sent.popleft()
        self._sent.append(now)


def _wait(error: Any, attempt: int) -> float:
    headers = {k.lower(): v for k, v in (getattr(error, "headers", None) or {}).items()}
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        try:
            return max(float(retry_after), 0.0)
        except ValueError:
            pass
    return float(min(0.25 * 2**attempt, 10.0))


def _message(error: Any) -> str:
    import json

    try:
        return str(json.loads(error.body).get("message", error.body))
    except (TypeError, ValueError):
        return str(error.reason)


def _page(answer: Any) -> Page:
    results = [
        {"id": str(item.id), "properties": dict(item.properties or {})} for item in answer.results
    ]
    paging = answer.paging
    after = paging.next.after if paging is not None and paging.next is not None else None
    return Page(results, after)


def pages(read: Callable[[str | None], Page], after: str | None = None) -> Iterator[Page]:
    """Every page from `after` on."""
    while True:
        page = read(after)
        yield page
        if page.after is None:
            return
        after = page.after
