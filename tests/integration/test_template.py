"""template.yaml is a valid SAM template (cfn-lint runs the SAM transform too)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).parents[2] / "template.yaml"


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !Sub …) as plain values."""


_CloudFormationLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def test_template_passes_cfn_lint_with_the_sam_transform():
    cfn_lint = shutil.which("cfn-lint", path=str(Path(sys.executable).parent))
    assert cfn_lint, "cfn-lint is missing: run `make test` (it installs the dev dependencies)"
    # informational checks too (explicit deletion policies, queue retention …): none left
    run = subprocess.run(
        [cfn_lint, "--include-checks", "I", "--", str(TEMPLATE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_layer_is_built_from_shared_for_python312_arm64():
    template = yaml.load(TEMPLATE.read_text(), Loader=_CloudFormationLoader)
    layer = template["Resources"]["HealthscoreLayer"]
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert layer["Properties"]["ContentUri"] == "shared/"
    assert layer["Metadata"] == {"BuildMethod": "python3.12", "BuildArchitecture": "arm64"}
    assert (TEMPLATE.parent / "shared" / "requirements.txt").exists()


def _template() -> dict:
    return yaml.load(TEMPLATE.read_text(), Loader=_CloudFormationLoader)


def _resources_of(kind: str) -> dict:
    return {k: v for k, v in _template()["Resources"].items() if v["Type"] == kind}


def test_the_tables_the_code_uses_are_exactly_the_templates():
    from healthscore.adapters.dynamo_tables import MODELS
    from healthscore.settings import TABLES

    declared = _resources_of("AWS::DynamoDB::Table")
    assert sorted(declared) == sorted(logical for _v, logical in TABLES.values())
    assert sorted(MODELS) == sorted(TABLES)
    for field, model in MODELS.items():
        properties = declared[TABLES[field][1]]["Properties"]
        schema = model._get_schema()
        # conditional entries (`!If`, read as None) are an upgrade's, absent by default
        assert sorted(
            (a["AttributeName"], a["AttributeType"])
            for a in properties["AttributeDefinitions"]
            if a
        ) == sorted(
            (a["AttributeName"], a["AttributeType"]) for a in schema["attribute_definitions"]
        )
        assert properties["KeySchema"] == [
            {"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]}
            for k in schema["key_schema"]
        ]
        indexes = {
            i["IndexName"]: (i["KeySchema"], i["Projection"]["ProjectionType"])
            for i in properties.get("GlobalSecondaryIndexes", [])
            if i
        }
        assert indexes == {
            i["index_name"]: (i["key_schema"], i["projection"]["ProjectionType"])
            for i in schema["global_secondary_indexes"]
        }
        ttl = [
            name for name, a in model.get_attributes().items() if type(a).__name__ == "TTLAttribute"
        ]
        declared_ttl = properties.get("TimeToLiveSpecification", {}).get("AttributeName")
        assert ttl == ([declared_ttl] if declared_ttl else []), field
        assert properties["BillingMode"] == "PAY_PER_REQUEST"


def test_every_setting_reaches_the_functions_environment():
    from healthscore.settings import QUEUES, TABLES

    variables = _template()["Globals"]["Function"]["Environment"]["Variables"]
    for variable, _logical in [*TABLES.values(), *QUEUES.values()]:
        assert variable in variables, variable
    assert "RecomputeQueue" in _template()["Resources"]


def test_every_function_has_its_code_and_least_privilege_policies():
    functions = _resources_of("AWS::Serverless::Function")
    assert sorted(functions) == [
        "ApiFunction",
        "NotifyFunction",
        "RecomputeFunction",
        "ScorerFunction",
        "SweepFunction",
        "SyncFunction",
        "WebhookFunction",
        "WritebackFunction",
    ]
    for name, function in functions.items():
        code = TEMPLATE.parent / function["Properties"]["CodeUri"] / "app.py"
        assert code.exists(), f"{name}: {code} is missing"
        for policy in function["Properties"]["Policies"]:
            assert isinstance(policy, dict), f"{name}: {policy} is not a scoped policy template"
    # status changes leave only through the history table's stream (the outbox)
    publishers = [
        name
        for name, function in functions.items()
        if any("EventBridgePutEventsPolicy" in p for p in function["Properties"]["Policies"])
    ]
    assert publishers == ["NotifyFunction"]
    history = _resources_of("AWS::DynamoDB::Table")["HistoryTable"]["Properties"]
    assert history["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    events = functions["NotifyFunction"]["Properties"]["Events"]["History"]["Properties"]
    assert events["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert "OnFailure" in events["DestinationConfig"]


def transformed(**parameters: str) -> dict[str, Any]:
    """The template as CloudFormation receives it: SAM's transform, offline."""
    from samtranslator.translator.transform import transform

    class _ManagedPolicies(dict[str, str]):
        """Offline: any AWS managed policy name maps to its conventional ARN."""

        def load(self) -> _ManagedPolicies:
            return self

        def __missing__(self, name: str) -> str:
            return f"arn:aws:iam::aws:policy/{name}"

    class _FullLoader(yaml.SafeLoader):
        pass

    def _tag(loader: Any, suffix: str, node: Any) -> Any:
        name = (
            "Fn::GetAtt" if suffix == "GetAtt" else ("Ref" if suffix == "Ref" else f"Fn::{suffix}")
        )
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            return {name: value.split(".", 1) if suffix == "GetAtt" else value}
        if isinstance(node, yaml.SequenceNode):
            return {name: loader.construct_sequence(node, deep=True)}
        return {name: loader.construct_mapping(node, deep=True)}

    _FullLoader.add_multi_constructor("!", _tag)
    document = yaml.load(TEMPLATE.read_text(), Loader=_FullLoader)
    # As `sam package` leaves it: local code folders uploaded to S3.
    for resource in document["Resources"].values():
        for uri in ("CodeUri", "ContentUri"):
            if uri in resource.get("Properties", {}):
                resource["Properties"][uri] = f"s3://artifacts/{resource['Properties'][uri]}"
    given = {"JwtIssuer": "https://issuer.example", "JwtAudience": "client", **parameters}
    output: dict[str, Any] = transform(document, given, _ManagedPolicies())
    return output


def test_the_template_transforms_with_the_sam_translator(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    output = transformed()
    kinds = {r["Type"] for r in output["Resources"].values()}
    assert {
        "AWS::Lambda::Function",
        "AWS::ApiGatewayV2::Api",
        "AWS::Lambda::EventSourceMapping",
    } <= kinds


def test_the_layer_requirements_are_generated_from_pyproject():
    sys.path.insert(0, str(TEMPLATE.parent / "scripts"))
    from layer_requirements import layer_requirements

    assert (TEMPLATE.parent / "shared" / "requirements.txt").read_text() == layer_requirements(), (
        "shared/requirements.txt is stale: "
        "python scripts/layer_requirements.py > shared/requirements.txt"
    )


def test_only_the_recompute_function_carries_polars():
    sys.path.insert(0, str(TEMPLATE.parent / "scripts"))
    from layer_requirements import recompute_requirements

    recompute = TEMPLATE.parent / "functions" / "recompute" / "requirements.txt"
    assert recompute.read_text() == recompute_requirements(), (
        "functions/recompute/requirements.txt is stale: "
        "python scripts/layer_requirements.py --recompute > functions/recompute/requirements.txt"
    )
    assert "polars" in recompute.read_text()
    assert "polars" not in (TEMPLATE.parent / "shared" / "requirements.txt").read_text()
    hubspot = {TEMPLATE.parent / "functions" / name / "requirements.txt" for name in HUBSPOT}
    others = [
        p
        for p in (TEMPLATE.parent / "functions").glob("*/requirements.txt")
        if p != recompute and p not in hubspot
    ]
    assert others == []


HUBSPOT = ("writeback", "sync")


def test_only_the_hubspot_functions_carry_its_sdk():
    sys.path.insert(0, str(TEMPLATE.parent / "scripts"))
    from layer_requirements import hubspot_requirements

    for name in HUBSPOT:
        path = TEMPLATE.parent / "functions" / name / "requirements.txt"
        assert path.read_text() == hubspot_requirements(), (
            f"functions/{name}/requirements.txt is stale: "
            f"python scripts/layer_requirements.py --hubspot > functions/{name}/requirements.txt"
        )
    assert "hubspot-api-client" in hubspot_requirements()
    assert "hubspot" not in (TEMPLATE.parent / "shared" / "requirements.txt").read_text()


def test_history_entries_feed_the_writeback_through_a_pipe_with_a_dlq():
    resources = {**_resources_of("AWS::Pipes::Pipe"), **_resources_of("AWS::SQS::Queue")}
    pipe = TEMPLATE.read_text().split("  WritebackPipe:\n", 1)[1].split("\n\n", 1)[0]
    assert "Source: !GetAtt HistoryTable.StreamArn" in pipe
    assert "Target: !GetAtt WritebackQueue.Arn" in pipe
    assert "WritebackDeadLetterQueue" in resources
    functions = _resources_of("AWS::Serverless::Function")
    events = functions["WritebackFunction"]["Properties"]["Events"]["Changed"]["Properties"]
    assert events["BatchSize"] == 100  # one HubSpot batch call per 100 changed records
    assert events["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    timeout = functions["WritebackFunction"]["Properties"]["Timeout"]
    from healthscore.services.hubspot_push import LEASE_SECONDS

    assert timeout < LEASE_SECONDS  # a pusher never outlives the lease it holds
    schedule = functions["SyncFunction"]["Properties"]["Events"]["Schedule"]
    assert schedule["Type"] == "ScheduleV2"


def test_the_recompute_runs_as_a_distributed_map_fed_by_the_queue():
    resources = _resources_of("AWS::Serverless::StateMachine")
    states = resources["RecomputeStateMachine"]["Properties"]["Definition"]["States"]
    shards = states["Shards"]
    assert shards["Type"] == "Map"
    assert shards["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert "RecomputePipe" in _resources_of("AWS::Pipes::Pipe")
    pipe = TEMPLATE.read_text().split("  RecomputePipe:\n", 1)[1].split("\n\n", 1)[0]
    assert "Source: !GetAtt RecomputeQueue.Arn" in pipe
    assert "Target: !Ref RecomputeStateMachine" in pipe


def test_the_published_openapi_document_is_the_one_the_api_serves():
    import subprocess

    run = subprocess.run(
        [sys.executable, "scripts/openapi.py", "--check"],
        cwd=TEMPLATE.parent,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_sam_validate_with_lint_passes():
    """AWS's own CLI, as a deployer runs it before `sam deploy` (offline: no credentials)."""
    sam = TEMPLATE.parent / ".cache" / "sam" / "bin" / "sam"
    assert sam.exists(), "the AWS SAM CLI is missing: run `make test` or `make sam` (installs it)"
    run = subprocess.run(
        [str(sam), "validate", "--lint", "--template", str(TEMPLATE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "SAM_CLI_TELEMETRY": "0",
            "AWS_DEFAULT_REGION": "us-east-1",
        },
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "is a valid SAM Template" in run.stdout + run.stderr


class _ConditionsLoader(yaml.SafeLoader):
    """Keeps `!If`, `!Equals` and `!Ref` as their long forms, the rest as None."""


def _long_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if suffix not in ("If", "Equals", "Ref"):
        return None
    if isinstance(node, yaml.SequenceNode):
        return {
            f"Fn::{suffix}" if suffix != "Ref" else suffix: loader.construct_sequence(
                node, deep=True
            )
        }
    return {"Ref" if suffix == "Ref" else f"Fn::{suffix}": loader.construct_scalar(node)}


_ConditionsLoader.add_multi_constructor("!", _long_form)


def test_an_upgrade_keeps_the_old_due_index_beside_the_new_one_for_one_deployment():
    # Given the template as CloudFormation evaluates its conditions
    template = yaml.load(TEMPLATE.read_text(), Loader=_ConditionsLoader)
    scores = template["Resources"]["ScoresTable"]["Properties"]
    parameter = template["Parameters"]["LegacyDueIndex"]
    # Then by default only the keys-only `next_day` index exists, and with LegacyDueIndex=keep
    # the old `due` index (and its key attribute) stays beside it: one index added per update
    assert (parameter["Default"], sorted(parameter["AllowedValues"])) == ("drop", ["drop", "keep"])
    assert template["Conditions"]["KeepLegacyDueIndex"] == {
        "Fn::Equals": [{"Ref": "LegacyDueIndex"}, "keep"]
    }
    plain = [i for i in scores["GlobalSecondaryIndexes"] if "IndexName" in i]
    assert [(i["IndexName"], i["Projection"]["ProjectionType"]) for i in plain] == [
        ("next_day", "KEYS_ONLY")
    ]
    (legacy,) = [i["Fn::If"] for i in scores["GlobalSecondaryIndexes"] if "Fn::If" in i]
    assert legacy[0] == "KeepLegacyDueIndex"
    assert legacy[1]["IndexName"] == "due"
    assert legacy[2] == {"Ref": "AWS::NoValue"}
    (key,) = [a["Fn::If"] for a in scores["AttributeDefinitions"] if "Fn::If" in a]
    assert key[:2] == ["KeepLegacyDueIndex", {"AttributeName": "due_key", "AttributeType": "S"}]
