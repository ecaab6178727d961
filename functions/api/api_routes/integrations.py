"""The account's HubSpot connection: connect (or change), read, disconnect."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from api_routes.common import caller, use_cases
from api_routes.schemas import HubSpotConnection, HubSpotConnectionBody

integrations = Router()
TAGS = ["Integrations"]


@integrations.put(
    "/integrations/hubspot",
    tags=TAGS,
    operation_id="connectHubSpot",
    summary="Connect the account's HubSpot portal",
    description="Names the portal and where its private-app token is kept (the token must "
    "already be there: 400 otherwise). The portal's webhooks are routed to this account "
    "(409 while another account holds the portal); with write-back on, every live score is "
    "pushed to the portal once, then each change as it happens; with sync on, the portal's "
    "changes are imported on the deployment's schedule.",
)
def connect_hubspot(body: Annotated[HubSpotConnectionBody, Body()]) -> HubSpotConnection:
    return use_cases().integrations.connect(caller(integrations), body.model_dump())


@integrations.get(
    "/integrations/hubspot",
    tags=TAGS,
    operation_id="getHubSpotConnection",
    summary="The account's HubSpot connection",
    description="Which portal, where its token is kept (never the token), and what it does.",
)
def get_hubspot() -> HubSpotConnection:
    return use_cases().integrations.get(caller(integrations))


@integrations.delete(
    "/integrations/hubspot",
    status_code=204,
    tags=TAGS,
    operation_id="disconnectHubSpot",
    summary="Disconnect the HubSpot portal",
    description="Stops the sync and the write-back and unregisters the portal's webhooks; "
    "the scores already written stay in HubSpot.",
)
def disconnect_hubspot() -> Response[Any]:
    use_cases().integrations.disconnect(caller(integrations))
    return Response(status_code=204)
