"""boto3 clients for one deployment: on AWS the defaults; locally the endpoints in `Settings`
(moto server for SQS, SSM and EventBridge)."""

from __future__ import annotations

from typing import Any

from healthscore.settings import Settings


def client(service: str, settings: Settings) -> Any:
    import boto3

    endpoint = settings.sqs_endpoint if service == "sqs" else settings.aws_endpoint
    return boto3.client(service, region_name=settings.region, endpoint_url=endpoint)
