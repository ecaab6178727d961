"""Moving a deployment's stored data to a newer layout (docs/deploying.md, Upgrading).

Links used to have their own table (AssociationsTable); they now live in the records table
beside their record, under the same keys (account / from_type#from_id#to_type#to_id, which no
record's key equals). `copy_links` moves them over. The stack keeps the old table (its deletion
policy is Retain) until you delete it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass
class CopiedLinks:
    copied: int = 0
    kept_newer: int = 0  # the records table already had the link with a later (or equal) stamp


def copy_links(
    dynamodb: Any,
    source: str,
    target: str,
    progress: Callable[[CopiedLinks], None] | None = None,
) -> CopiedLinks:
    """Copy every item of the old associations table `source` into the records table `target`,
    unchanged. A link the upgraded scorer has already written there is kept when its stamp is
    the later (last writer wins, as for any link change). Safe to run again."""
    result = CopiedLinks()
    for page in dynamodb.get_paginator("scan").paginate(TableName=source, ConsistentRead=True):
        for item in page["Items"]:
            if _put_unless_newer(dynamodb, target, item):
                result.copied += 1
            else:
                result.kept_newer += 1
        if progress is not None:
            progress(result)
    return result


def _put_unless_newer(dynamodb: Any, table: str, item: dict[str, Any]) -> bool:
    condition = "attribute_not_exists(pk)"
    values: dict[str, Any] = {}
    if "stamp" in item:  # an unstamped link (stored before stamps) loses to any stored one
        condition += " OR attribute_not_exists(stamp) OR stamp < :stamp"
        values[":stamp"] = item["stamp"]
    try:
        dynamodb.put_item(
            TableName=table,
            Item=item,
            ConditionExpression=condition,
            **({"ExpressionAttributeValues": values} if values else {}),
        )
    except dynamodb.exceptions.ConditionalCheckFailedException:
        return False
    return True
