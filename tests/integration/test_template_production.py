"""What a production deployment needs of template.yaml, checked on the template as CloudFormation
receives it (SAM's transform, offline): the Distributed Map's permissions, a pipe input that is
valid JSON for the messages the API sends, queues that outlive a two-week outage, tables kept
when the stack goes, the API throttled by parameters, and exports kept no longer than their jobs."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from healthscore.adapters.dynamo_definitions import JOB_RETENTION
from healthscore.adapters.job_queue import SqsJobStarter
from healthscore.settings import Settings
from tests.integration.test_template import transformed

FOURTEEN_DAYS = 14 * 24 * 3600


@pytest.fixture(scope="module")
def output() -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
        return transformed(ApiThrottlingRateLimit="40", ApiThrottlingBurstLimit="80")


@pytest.fixture(scope="module")
def resources(output: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = output["Resources"]
    return found


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s
        for policy in role["Properties"].get("Policies", [])
        for s in policy["PolicyDocument"]["Statement"]
    ]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_the_distributed_map_may_start_watch_and_stop_its_child_executions(
    resources: dict[str, Any],
) -> None:
    role = resources["RecomputeStateMachineRole"]
    granted: dict[str, list[str]] = {}
    for statement in statements(role):
        for action in as_list(statement["Action"]):
            for resource in as_list(statement["Resource"]):
                text = resource.get("Fn::Sub", resource) if isinstance(resource, dict) else resource
                granted.setdefault(action, []).append(json.dumps(text))
    assert any("stateMachine:" in r for r in granted["states:StartExecution"])
    for action in ("states:DescribeExecution", "states:StopExecution"):
        assert any("execution:${AWS::StackName}-recompute/*" in r for r in granted[action]), action
    assert any("-recompute/*:*" in r for r in granted["states:RedriveExecution"])


def render_pipe_template(template: str, record: dict[str, Any]) -> str:
    """EventBridge Pipes' input template: `<$.body.x>` is the value at that path of the SQS
    record (a JSON body is parsed), inserted as it is — a string without quotes."""
    body = json.loads(record["body"])

    def value(match: re.Match[str]) -> str:
        found: Any = {**record, "body": body}
        for part in match.group(1).split("."):
            found = found[part]
        return found if isinstance(found, str) else json.dumps(found)

    return re.sub(r"<\$\.([A-Za-z0-9_.]+)>", value, template)


def test_the_pipe_turns_each_job_message_into_the_state_machines_input(
    resources: dict[str, Any],
) -> None:
    sent: list[str] = []

    class Recorder:
        def send_message(self, QueueUrl: str, MessageBody: str) -> None:
            sent.append(MessageBody)

    starter = SqsJobStarter(Settings.for_prefix("t", recompute_queue_url="q"), client=Recorder())
    starter("acme-eu_1", "job_0123abcd")
    template = resources["RecomputePipe"]["Properties"]["TargetParameters"]["InputTemplate"]
    record = {"messageId": "m1", "body": sent[0], "attributes": {}}
    assert json.loads(render_pipe_template(template, record)) == {
        "account_id": "acme-eu_1",
        "job_id": "job_0123abcd",
    }
    # every placeholder of a string sits inside quotes (unquoted, the input is not JSON)
    placeholders = re.findall(r"<\$\.[^>]+>", template)
    assert placeholders
    assert all(f'"{p}"' in template for p in placeholders)
    unquoted = template.replace('"<', "<").replace('>"', ">")
    with pytest.raises(json.JSONDecodeError):
        json.loads(render_pipe_template(unquoted, record))


def test_queues_keep_messages_fourteen_days_and_survive_a_replacement(
    resources: dict[str, Any],
) -> None:
    queues = {n: r for n, r in resources.items() if r["Type"] == "AWS::SQS::Queue"}
    assert set(queues) >= {"ChangesQueue", "RecomputeQueue", "ChangesDeadLetterQueue"}
    for name, queue in queues.items():
        assert queue["Properties"]["MessageRetentionPeriod"] == FOURTEEN_DAYS, name
        assert queue["UpdateReplacePolicy"] == "Retain", name


def test_tables_are_kept_when_the_stack_is_deleted_or_a_table_replaced(
    resources: dict[str, Any],
) -> None:
    tables = {n: r for n, r in resources.items() if r["Type"] == "AWS::DynamoDB::Table"}
    assert len(tables) == 9  # records and their links share one
    for name, table in tables.items():
        assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain"), name


def test_an_export_is_never_kept_longer_than_the_job_it_is_found_by(
    output: dict[str, Any],
) -> None:
    # GET /exports/{id} and the newest export of a score read the export's job, which expires
    # JOB_RETENTION after it was saved: files kept longer could no longer be found or linked.
    retention = output["Parameters"]["ExportRetentionDays"]
    assert int(retention["Default"]) <= int(retention["MaxValue"]) <= JOB_RETENTION.days
    rules = [
        rule
        for bucket in resources_of(output, "AWS::S3::Bucket")
        for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]
        if rule.get("Prefix") == "datasets/"
    ]
    assert [rule["ExpirationInDays"] for rule in rules] == [{"Ref": "ExportRetentionDays"}]


def resources_of(output: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r for r in output["Resources"].values() if r["Type"] == kind]


def test_the_api_is_throttled_by_its_parameters(resources: dict[str, Any]) -> None:
    stage = next(r for r in resources.values() if r["Type"] == "AWS::ApiGatewayV2::Stage")
    settings = stage["Properties"]["DefaultRouteSettings"]
    assert settings == {
        "ThrottlingBurstLimit": {"Ref": "ApiThrottlingBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ApiThrottlingRateLimit"},
    }


def test_the_writeback_pipe_turns_a_history_entry_into_a_writeback_message(
    resources: dict[str, Any],
) -> None:
    from healthscore.adapters.dynamo_tables import join_key
    from healthscore.services.hubspot_push import parse_message

    template = resources["WritebackPipe"]["Properties"]["TargetParameters"]["InputTemplate"]
    pk = join_key("acme-eu_1", "def_health", "companies", "4470012")
    record = {  # a DynamoDB stream record as Pipes reads it
        "eventName": "INSERT",
        "dynamodb": {"Keys": {"pk": {"S": pk}, "sk": {"S": "2026-06-15T00:00:00#000001"}}},
    }

    def value(match: re.Match[str]) -> str:
        found: Any = record
        for part in match.group(1).split("."):
            found = found[part]
        return str(found)

    rendered = re.sub(r"<\$\.([A-Za-z0-9_.]+)>", value, template)
    queued = parse_message("m1", rendered)
    assert (queued.account, queued.definition_id, queued.key) == (
        "acme-eu_1",
        "def_health",
        ("companies", "4470012"),
    )
    assert all(f'"{p}"' in template for p in re.findall(r"<\$\.[^>]+>", template))
