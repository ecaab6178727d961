"""Settings read once from the environment (at cold start) and injected where needed.

On AWS, template.yaml's Globals put every table name and queue URL into the environment;
locally, `healthscore serve` does the same for the tables it created from the template.
Table names are never hard-coded in models.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, ValidationError

# Settings field → environment variable → template.yaml logical id of the table.
TABLES: dict[str, tuple[str, str]] = {
    "definitions_table": ("DEFINITIONS_TABLE", "DefinitionsTable"),
    "segments_table": ("SEGMENTS_TABLE", "SegmentsTable"),
    "records_table": ("RECORDS_TABLE", "RecordsTable"),
    "events_table": ("EVENTS_TABLE", "EventsTable"),
    "scores_table": ("SCORES_TABLE", "ScoresTable"),
    "history_table": ("HISTORY_TABLE", "HistoryTable"),
    "output_properties_table": ("OUTPUT_PROPERTIES_TABLE", "OutputPropertiesTable"),
    "jobs_table": ("JOBS_TABLE", "JobsTable"),
    "snapshots_table": ("SNAPSHOTS_TABLE", "SnapshotsTable"),
}
QUEUES: dict[str, tuple[str, str]] = {
    "recompute_queue_url": ("RECOMPUTE_QUEUE_URL", "RecomputeQueue"),
    "changes_queue_url": ("CHANGES_QUEUE_URL", "ChangesQueue"),
    "writeback_queue_url": ("WRITEBACK_QUEUE_URL", "WritebackQueue"),
}
# Optional settings: field → environment variable (defaults in `Settings`).
OPTIONAL: dict[str, str] = {
    "event_bus_name": "EVENT_BUS_NAME",
    "webhook_secrets_path": "WEBHOOK_SECRETS_PATH",
    "hubspot_app_path": "HUBSPOT_APP_PATH",
    "hubspot_tokens_path": "HUBSPOT_TOKENS_PATH",
    "hubspot_base_url": "HUBSPOT_BASE_URL",
    "dynamodb_endpoint": "DYNAMODB_ENDPOINT",
    "sqs_endpoint": "SQS_ENDPOINT",
    "aws_endpoint": "AWS_ENDPOINT",
    "clock_file": "HEALTHSCORE_CLOCK_FILE",
    "export_bucket": "EXPORT_BUCKET",
    "export_folder": "EXPORT_FOLDER",
    "recompute_shard_size": "RECOMPUTE_SHARD_SIZE",
    "recompute_settle_seconds": "RECOMPUTE_SETTLE_SECONDS",
    "reconcile_opt_out": "RECONCILE_OPT_OUT",
    "account_claim": "ACCOUNT_CLAIM",
    "permissions_claim": "PERMISSIONS_CLAIM",
    "seats_claim": "SEATS_CLAIM",
    "plan_claim": "PLAN_CLAIM",
    "claim_namespace": "CLAIM_NAMESPACE",
}


class SettingsError(ValueError):
    """A required environment variable is missing."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    definitions_table: str
    segments_table: str
    records_table: str
    events_table: str
    scores_table: str
    history_table: str
    output_properties_table: str
    jobs_table: str
    snapshots_table: str
    recompute_queue_url: str
    changes_queue_url: str = ""
    # Records whose score or status changed, to be pushed to HubSpot (functions/writeback).
    writeback_queue_url: str = ""
    region: str = "us-east-1"
    # `Health status changed` events go to this EventBridge bus.
    event_bus_name: str = "default"
    # SSM parameter path holding each account's webhook signing secret: <path>/<account>.
    webhook_secrets_path: str = "/healthscore/webhook-secrets"
    # SSM path of a HubSpot public app: <path>/client-secret signs the one target URL every
    # installing portal shares; <path>/portals/<portalId> holds the account each portal is.
    hubspot_app_path: str = "/healthscore/hubspot-app"
    # SSM path under which connected accounts keep their HubSpot private-app tokens
    # (SecureString parameters; the functions may read nothing else in SSM for tokens).
    hubspot_tokens_path: str = "/healthscore/hubspot-tokens"
    # HubSpot's API (None: https://api.hubapi.com); locally, the fake portal's address.
    hubspot_base_url: str | None = None
    # Set locally (DynamoDB Local, moto server for SQS/SSM/EventBridge); None on AWS.
    dynamodb_endpoint: str | None = None
    sqs_endpoint: str | None = None
    aws_endpoint: str | None = None
    # Locally: a file holding the clock's offset in seconds (`healthscore clock advance`).
    clock_file: str | None = None
    # Where the recompute's sharded exports go on AWS (locally: a temporary folder).
    export_bucket: str | None = None
    export_folder: str = ".healthscore/exports"  # analysts' exports where there is no bucket
    recompute_shard_size: int = 2_000
    # How long after a score's change its recompute waits before exporting the account: scorers
    # planning with the score as it was commit within 5 s of reading the live marker
    # (services/score_writes.py, ATTEMPT_SECONDS). 0 only where no scorer runs beside it.
    recompute_settle_seconds: float = 30.0
    # Accounts the nightly reconciliation leaves out, comma-separated (template parameter
    # ReconcileOptOut): an account whose operator does not want its data exported every night.
    reconcile_opt_out: str = ""
    # Which JWT claims say who the caller is (adapters/auth.py): each is also looked for with
    # Cognito's `custom:` prefix and under `claim_namespace` (Auth0's namespaced claims, e.g.
    # "https://healthscore.example.com/").
    account_claim: str = "account_id"
    permissions_claim: str = "permissions"
    seats_claim: str = "seats"
    plan_claim: str = "plan"
    claim_namespace: str = ""

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, str | None] = {}
        missing = []
        for field, (variable, _logical_id) in {**TABLES, **QUEUES}.items():
            if variable in env:
                values[field] = env[variable]
            else:
                missing.append(variable)
        if missing:
            raise SettingsError(
                "missing environment variables: "
                + ", ".join(missing)
                + " (template.yaml sets them on AWS; `healthscore serve` sets them locally)"
            )
        values["region"] = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        for field, variable in OPTIONAL.items():
            if env.get(variable):
                values[field] = env[variable]
        try:
            return cls.model_validate(values)
        except ValidationError as error:  # pragma: no cover - every field is a plain string
            raise SettingsError(str(error)) from error

    @classmethod
    def for_prefix(cls, prefix: str, **overrides: str | None) -> Settings:
        """Tables named `<prefix>-<LogicalId>` (the local stack and tests)."""
        values: dict[str, str | None] = {
            field: f"{prefix}-{logical_id}" for field, (_v, logical_id) in TABLES.items()
        }
        values["recompute_queue_url"] = ""
        values["changes_queue_url"] = ""
        values["writeback_queue_url"] = ""
        values.update(overrides)
        return cls.model_validate(values)

    @property
    def reconcile_skipped(self) -> frozenset[str]:
        return frozenset(a.strip() for a in self.reconcile_opt_out.split(",") if a.strip())

    def environment(self) -> dict[str, str]:
        """The environment variables that give these settings back (for subprocesses)."""
        env = {
            variable: getattr(self, field) for field, (variable, _) in {**TABLES, **QUEUES}.items()
        }
        env["AWS_REGION"] = self.region
        for field, variable in OPTIONAL.items():
            value = getattr(self, field)
            if value is not None and value != type(self).model_fields[field].default:
                env[variable] = str(value)
        return env
