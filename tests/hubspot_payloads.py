"""HubSpot webhook items shaped as HubSpot's webhooks documentation shows them, for every
subscription type its webhooks API offers (the `eventType` enum of HubSpot's own OpenAPI
document, ../shared/hubspot-openapi/webhooks.json), and a signer that is HubSpot's SDK."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

HUBSPOT_OPENAPI = Path(__file__).parents[2] / "shared" / "hubspot-openapi"
APP_ID = 1160452

# what healthscore reads: (object prefix, action) pairs; everything else is skipped
READ_OBJECTS = {"contact", "company", "deal", "ticket", "object"}
READ_ACTIONS = {
    "creation",
    "deletion",
    "privacyDeletion",
    "propertyChange",
    "associationChange",
    "merge",
    "restore",
}


def subscription_types() -> list[str]:
    """Every subscription type HubSpot's webhooks API lets an app subscribe to."""
    document = HUBSPOT_OPENAPI / "webhooks.json"
    assert document.is_file(), (
        f"HubSpot's webhooks OpenAPI document is missing at {document}: the tests read the "
        "subscription types from it (copy HubSpot's PublicApiSpecs/Webhooks document there)"
    )
    schema = json.loads(document.read_text())["components"]["schemas"]
    return list(schema["SubscriptionCreateRequest"]["properties"]["eventType"]["enum"])


def is_read(subscription_type: str) -> bool:
    prefix, _, action = subscription_type.partition(".")
    return prefix in READ_OBJECTS and action in READ_ACTIONS


def item(
    subscription_type: str, portal: int, event_id: int, occurred_ms: int, object_id: int
) -> dict[str, Any]:
    """One item in the documented shape of its subscription type."""
    prefix, _, action = subscription_type.partition(".")
    body: dict[str, Any] = {
        "eventId": event_id,
        "subscriptionId": 25,
        "portalId": portal,
        "appId": APP_ID,
        "occurredAt": occurred_ms,
        "subscriptionType": subscription_type,
        "attemptNumber": 0,
        "objectId": object_id,
        "changeSource": "CRM",
    }
    if prefix == "object":
        body["objectTypeId"] = "0-1"
    if action == "propertyChange":
        body |= {"propertyName": "lifecyclestage", "propertyValue": "customer"}
    elif action == "merge":
        body |= {
            "changeFlag": "MERGED",
            "primaryObjectId": object_id,
            "mergedObjectIds": [object_id + 1],
            "newObjectId": object_id,
            "numberOfPropertiesMoved": 3,
        }
    elif action == "associationChange":
        body.pop("objectId")
        if prefix == "object":
            body |= {
                "associationTypeId": 1,
                "associationCategory": "HUBSPOT_DEFINED",
                "fromObjectTypeId": "0-1",
                "toObjectTypeId": "0-2",
            }
        else:
            other = "COMPANY" if prefix != "company" else "CONTACT"
            name = {"line_item": "LINE_ITEM"}.get(prefix, prefix.upper())
            body["associationType"] = f"{name}_TO_{other}"
        body |= {
            "fromObjectId": object_id,
            "toObjectId": 9000 + object_id,
            "associationRemoved": False,
            "isPrimaryAssociation": False,
        }
    elif prefix == "conversation":
        body |= {"messageId": "f3a1", "messageType": "MESSAGE", "changeFlag": "NEW_MESSAGE"}
    elif subscription_type == "event.completed":
        body |= {"objectTypeId": "0-1", "eventTypeId": "pe1_webinar"}
    return body


def hubspot_signed(secret: str, uri: str, body: bytes, at: datetime) -> dict[str, str]:
    """The headers HubSpot sends, computed by HubSpot's SDK (`uri` as HubSpot signs it: with
    no percent-escapes of the characters it decodes)."""
    from hubspot.utils.signature import Signature

    timestamp = str(int(at.timestamp() * 1000))
    signed = Signature.get_signature(secret, body.decode(), "v3", http_uri=uri, timestamp=timestamp)
    return {
        "X-HubSpot-Signature-v3": signed,
        "X-HubSpot-Request-Timestamp": timestamp,
        "content-type": "application/json",
    }
