"""The local stack's AWS resources as template.yaml declares them: tables and queues (with their
redrive policies) created from the template, and SQS messages handed to handlers and settled
the way Lambda's SQS event source does it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from healthscore.settings import QUEUES, Settings

REGION = "us-east-1"
LOCAL_RETRY_AFTER = 1  # seconds before a failed message is received again (AWS: the timeout)


class _Loader(yaml.SafeLoader):
    """CloudFormation short tags (!Ref, !GetAtt …) read as plain values."""


def _short_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    """`!GetAtt Queue.Arn` is kept (the local queues' redrive policies need it); others are
    read as None."""
    if suffix == "GetAtt" and isinstance(node, yaml.ScalarNode):
        return {"Fn::GetAtt": loader.construct_scalar(node)}
    return None


_Loader.add_multi_constructor("!", _short_tag)


def template_resources(template: Path, kind: str) -> dict[str, dict[str, Any]]:
    document = yaml.load(template.read_text(), Loader=_Loader)
    return {
        name: resource.get("Properties") or {}
        for name, resource in document["Resources"].items()
        if resource["Type"] == kind
    }


def create_from_template(template: Path, prefix: str, dynamodb: Any, sqs: Any) -> Settings:
    """Create the template's tables and queues; the settings that name them."""
    existing = set(dynamodb.list_tables()["TableNames"])
    for logical_id, properties in template_resources(template, "AWS::DynamoDB::Table").items():
        name = f"{prefix}-{logical_id}"
        if name in existing:
            continue
        request: dict[str, Any] = {
            "TableName": name,
            # conditional entries (an upgrade's, `!If`) read as None: left out, as by default
            "AttributeDefinitions": [a for a in properties["AttributeDefinitions"] if a],
            "KeySchema": properties["KeySchema"],
            "BillingMode": "PAY_PER_REQUEST",
        }
        stream = properties.get("StreamSpecification")
        if stream:
            request["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": stream["StreamViewType"],
            }
        if "GlobalSecondaryIndexes" in properties:
            request["GlobalSecondaryIndexes"] = [
                {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection")}
                for index in properties["GlobalSecondaryIndexes"]
                if index
            ]
        dynamodb.create_table(**request)
        dynamodb.get_waiter("table_exists").wait(TableName=name)
        ttl = properties.get("TimeToLiveSpecification")
        if ttl:
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
    queues = {}
    declared = template_resources(template, "AWS::SQS::Queue")
    for logical_id in declared:
        queues[logical_id] = sqs.create_queue(QueueName=f"{prefix}-{logical_id}")["QueueUrl"]
    for logical_id, properties in declared.items():  # the template's dead-letter queues
        redrive = properties.get("RedrivePolicy")
        if not redrive:
            continue
        target = str(redrive["deadLetterTargetArn"]["Fn::GetAtt"]).removesuffix(".Arn")
        arn = sqs.get_queue_attributes(QueueUrl=queues[target], AttributeNames=["QueueArn"])
        policy = {
            "deadLetterTargetArn": arn["Attributes"]["QueueArn"],
            "maxReceiveCount": str(redrive["maxReceiveCount"]),
        }
        sqs.set_queue_attributes(
            QueueUrl=queues[logical_id], Attributes={"RedrivePolicy": json.dumps(policy)}
        )
    overrides = {field: queues[logical_id] for field, (_variable, logical_id) in QUEUES.items()}
    return Settings.for_prefix(prefix, **overrides)


def settle(sqs: Any, url: str, messages: list[dict[str, Any]], failed: set[str]) -> None:
    """As Lambda's SQS event source: delete what succeeded; what failed is received again
    (sooner than on AWS, so local runs do not wait out the visibility timeout) until the queue's
    maxReceiveCount moves it to its dead-letter queue."""
    done = [
        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
        for i, m in enumerate(messages)
        if m["MessageId"] not in failed
    ]
    if done:
        sqs.delete_message_batch(QueueUrl=url, Entries=done)
    retry = [
        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": LOCAL_RETRY_AFTER}
        for i, m in enumerate(messages)
        if m["MessageId"] in failed
    ]
    if retry:
        sqs.change_message_visibility_batch(QueueUrl=url, Entries=retry)


def sqs_event(messages: list[dict[str, Any]], queue_url: str) -> dict[str, Any]:
    arn = "arn:aws:sqs:us-east-1:000000000000:" + queue_url.rsplit("/", 1)[-1]
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


class LocalLambdaContext:
    """What the handlers read of a Lambda context, for calls made on this machine."""

    function_name = "healthscore-local-api"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:healthscore-local-api"
    aws_request_id = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


class LongLambdaContext(LocalLambdaContext):
    """The sync function's context: 15 minutes to run."""

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def parse_duration(text: str) -> timedelta:
    """`7d`, `12h`, `2w`, `30m` → a duration (for the local clock)."""
    units = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    if len(text) < 2 or text[-1] not in units or not text[:-1].isdigit():
        raise ValueError(f"advance: {text!r} must be a number and a unit: 30m, 12h, 7d or 2w")
    return timedelta(**{units[text[-1]]: int(text[:-1])})


def scheduled_event() -> dict[str, Any]:
    """What EventBridge Scheduler hands a scheduled function."""
    return {
        "version": "0",
        "id": "local",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "account": "000000000000",
        "time": "1970-01-01T00:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": {},
    }
