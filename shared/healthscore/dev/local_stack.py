"""The local stack behind `healthscore serve`: the same handlers as on AWS, on this machine.

- DynamoDB: DynamoDB Local (AWS's emulator, with Java) or, with `--backend moto` or when Java
  or the jar is missing, moto in server mode. SQS is moto's.
- Tables and queues are created from template.yaml's resources (named `<prefix>-<LogicalId>`),
  with the template's redrive policies: a message that fails `maxReceiveCount` times moves to
  its dead-letter queue (`GET /local/queues` shows every depth; `healthscore serve` says when a
  dead-letter queue fills).
- HTTP: a loopback server turns each request into an API Gateway HTTP API event for the real
  `functions/api/app.py` handler. Bearer tokens are dev tokens signed with a local secret and
  carrying the same claims as the JWT authorizer would pass on.
- Jobs: a thread drains the recompute queue into the real recompute use case.
- Webhooks: `POST /webhooks/events` goes to the real webhook handler (no bearer token: HubSpot
  v3 signatures with the account's secret, kept in moto's SSM); a thread drains the changes
  queue into the real scorer handler as SQS batches, leaving failed messages for redelivery
  (after a second, not the visibility timeout); a batch that fails whole never stops it.
- Time: a clock kept in a file that `POST /local/clock` (or `healthscore clock advance 7d`) moves
  forward; every move runs the real sweep handler at once, and it also runs every few seconds.
- Waiting: `POST /local/drain` (or `healthscore wait`) answers once every change and job sent so
  far has been applied — scripts wait on it instead of sleeping.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import secrets
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as dt_time
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

from healthscore import bootstrap
from healthscore.adapters.auth import (
    dev_claims,
    sign_dev_token,
)
from healthscore.adapters.clock import Clock
from healthscore.adapters.dynamo_store import DynamoStore
from healthscore.adapters.dynamo_tables import Tables
from healthscore.adapters.dynamodb_local import DynamoDBLocal, DynamoDBLocalMissing, free_port
from healthscore.adapters.job_queue import SqsJobStarter
from healthscore.dev.local_hubspot import (
    LocalWriteback,
    pipe_history,
    store_token,
    sync_event,
    wait_until_empty,
)
from healthscore.dev.local_resources import (
    REGION,
    LocalLambdaContext,
    LongLambdaContext,
    create_from_template,
    scheduled_event,
    settle,
    sqs_event,
)
from healthscore.dev.local_server import request_handler
from healthscore.dev.local_streams import StreamReader, wait_for
from healthscore.domain.plans import Plan
from healthscore.services.jobs import run_job
from healthscore.services.recompute import wait_in_process
from healthscore.settings import Settings

SWEEP_EVERY = 5.0  # seconds between local sweeps (hourly on AWS)
SCORERS = 2  # concurrent scorer instances draining the changes queue
NIGHTLY_AT = dt_time(3, 0)  # UTC: template.yaml's ReconcileSchedule default, cron(0 3 * * ? *)
logger = logging.getLogger("healthscore.local")


def load_handler(root: Path, name: str, instance: int = 0) -> ModuleType:
    """functions/<name>/app.py as a module, as Lambda would import it. Each `instance` is a
    separate copy (its own module-level state), like concurrent Lambda execution environments."""
    module_name = f"healthscore_function_{name}" + (f"_{instance}" if instance else "")
    if module_name in sys.modules:
        return sys.modules[module_name]
    code = root / "functions" / name
    if (code / f"{name}_routes").is_dir() and str(code) not in sys.path:
        sys.path.insert(0, str(code))  # its own modules beside app.py, as in Lambda's code folder
    spec = importlib.util.spec_from_file_location(module_name, code / "app.py")
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"functions/{name}/app.py is missing under {root}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def _passes(before: datetime, after: datetime, at: dt_time) -> bool:
    """Whether the clock moving from `before` to `after` passed a time of day `at` (UTC)."""
    first = datetime.combine(before.date(), at, before.tzinfo)
    if first <= before:
        first += timedelta(days=1)
    return first <= after


def _quicker_moto_sqs_clock() -> None:
    """moto's SQS asks the time twice per message held on every receive and every queue-size
    question, each time building naive datetimes to subtract (about 5 µs): with a few hundred
    messages in flight that was most of the local stack's CPU. The same milliseconds from
    `time.time()` cost a twentieth; moto's behaviour is unchanged (it only compares them)."""
    import moto.sqs.models as sqs_models

    original = sqs_models.unix_time_millis  # type: ignore[attr-defined]
    if getattr(original, "quicker", False):
        return

    def unix_time_millis(dt: Any = None) -> float:
        return time.time() * 1000.0 if dt is None else float(original(dt))

    unix_time_millis.quicker = True  # type: ignore[attr-defined]
    sqs_models.unix_time_millis = unix_time_millis  # type: ignore[attr-defined]


@dataclass
class LocalStack:
    root: Path
    settings: Settings
    backend: str  # "dynamodb-local" or "moto"
    secret: str
    stoppers: list[Callable[[], None]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    prefix: str = "healthscore-local"
    history_stream: StreamReader | None = None
    writeback: LocalWriteback | None = None
    _sweep_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(
        cls,
        root: Path,
        backend: str = "auto",
        prefix: str = "healthscore-local",
        hubspot_base_url: str | None = None,
        exports_folder: Path | None = None,
    ) -> LocalStack:
        """Start moto (SQS, SSM, EventBridge) and DynamoDB Local (or moto's), with the
        template's tables and queues; analysts' exports go to `exports_folder` (default
        `.healthscore/exports` under `root`) in place of S3."""
        import boto3
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's request lines
        _quicker_moto_sqs_clock()
        stoppers: list[Callable[[], None]] = []
        moto_port = free_port()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
        moto.start()
        stoppers.append(moto.stop)
        moto_endpoint = f"http://127.0.0.1:{moto_port}"
        dynamodb_endpoint = moto_endpoint
        chosen = "moto"
        if backend in ("auto", "dynamodb-local"):
            try:
                local = DynamoDBLocal.start(root)
            except DynamoDBLocalMissing:
                if backend == "dynamodb-local":
                    moto.stop()
                    raise
            else:
                stoppers.append(local.stop)
                dynamodb_endpoint, chosen = local.endpoint, "dynamodb-local"
        credentials = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
        dynamodb = boto3.client(
            "dynamodb", region_name=REGION, endpoint_url=dynamodb_endpoint, **credentials
        )
        sqs = boto3.client("sqs", region_name=REGION, endpoint_url=moto_endpoint, **credentials)
        named = create_from_template(root / "template.yaml", prefix, dynamodb, sqs)
        handle, clock_path = tempfile.mkstemp(prefix="healthscore-clock-")
        os.close(handle)
        stoppers.append(lambda: Path(clock_path).unlink(missing_ok=True))
        settings = named.model_copy(
            update={
                "region": REGION,
                "dynamodb_endpoint": dynamodb_endpoint,
                "sqs_endpoint": moto_endpoint,
                "aws_endpoint": moto_endpoint,
                "clock_file": clock_path,
                "event_bus_name": "default",
                "hubspot_base_url": hubspot_base_url,
                "export_folder": str(exports_folder or root / ".healthscore" / "exports"),
            }
        )
        return cls(root, settings, chosen, secrets.token_urlsafe(32), stoppers, prefix=prefix)

    @property
    def clock(self) -> Clock:
        return Clock(self.settings.clock_file)

    def client(self, service: str) -> Any:
        """A boto3 client for the stack's moto services (SQS, SSM, EventBridge)."""
        import boto3

        endpoint = self.settings.sqs_endpoint if service == "sqs" else self.settings.aws_endpoint
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=endpoint,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def webhook_secret(self, account: str) -> str:
        """The account's webhook signing secret (created on first ask), as SSM holds it."""
        ssm = self.client("ssm")
        name = f"{self.settings.webhook_secrets_path}/{account}"
        try:
            return str(ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])
        except ssm.exceptions.ParameterNotFound:
            secret = secrets.token_urlsafe(32)
            ssm.put_parameter(Name=name, Value=secret, Type="SecureString", Overwrite=True)
            # the webhook caches "no secret" for a minute; a new secret works at once locally
            load_handler(self.root, "webhook").secrets.cache_clear()
            return secret

    def advance_clock(self, by: timedelta) -> dict[str, Any]:
        """Move the scoring clock forward and sweep at once; past the nightly run's time (the
        template's default, 03:00 UTC), queue the reconciliations too (the job runner runs
        them; `/local/drain` waits for them)."""
        if by < timedelta():
            raise ValueError("the clock only moves forward")
        before = self.clock.now()
        self.clock.advance(by)
        moved: dict[str, Any] = {"now": self.clock.now().isoformat(), "sweep": self.sweep()}
        if _passes(before, self.clock.now(), NIGHTLY_AT):
            moved["reconcile"] = self.reconcile()["reconciliations"]
        return moved

    def reconcile(self) -> dict[str, Any]:
        """The nightly run now, as its schedule does: a reconciliation job per live score."""
        sweep = load_handler(self.root, "sweep")
        with self._sweep_lock:
            result: dict[str, Any] = sweep.lambda_handler(
                {"task": "reconcile"}, LocalLambdaContext()
            )
        return result

    def sweep(self) -> dict[str, Any]:
        sweep = load_handler(self.root, "sweep")
        with self._sweep_lock:
            result: dict[str, Any] = sweep.lambda_handler(scheduled_event(), LocalLambdaContext())
        return result

    def environment(self) -> dict[str, str]:
        return {
            **self.settings.environment(),
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_SERVICE_NAME": "healthscore-local",
            # quiet by default (warnings and errors still show); set it to INFO to see every line,
            # and POWERTOOLS_METRICS_DISABLED=false to see each function's metrics as EMF lines
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
            "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"),
        }

    def token(
        self,
        account: str,
        user: str = "admin@localhost",
        *,
        manage: bool = True,
        plan: Plan = Plan.PROFESSIONAL,
    ) -> str:
        return sign_dev_token(dev_claims(account, user, manage=manage, plan=plan), self.secret)

    def serve(self, port: int) -> ThreadingHTTPServer:
        """Start the HTTP API and the job runner in background threads."""
        os.environ.update(self.environment())
        # metrics are off locally: Powertools warns on each flush that it had none to publish
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        api = load_handler(self.root, "api")
        api.use_cases.cache_clear()
        webhook = load_handler(self.root, "webhook")
        for name in ("settings", "secrets", "queue"):
            getattr(webhook, name).cache_clear()
        for name, cached in (("scorer", "scorer"), ("sweep", "sweep"), ("sweep", "settings")):
            getattr(load_handler(self.root, name), cached).cache_clear()
        handler = request_handler(self, api, webhook)
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        threading.Thread(target=self._run_jobs, daemon=True).start()
        for instance in range(SCORERS):
            threading.Thread(target=self._drain_changes, args=(instance,), daemon=True).start()
        self.history_stream = self._history_stream()
        threading.Thread(target=self.history_stream.run, daemon=True).start()
        threading.Thread(target=self._sweep_now_and_then, daemon=True).start()
        writeback, sync = load_handler(self.root, "writeback"), load_handler(self.root, "sync")
        for cached in (writeback.settings, writeback.pusher, writeback.queue, sync.settings):
            cached.cache_clear()
        sync.wiring.cache_clear()
        url = self.settings.writeback_queue_url
        self.writeback = LocalWriteback(self.client("sqs"), url, writeback, LocalLambdaContext())
        threading.Thread(target=self.writeback.run, daemon=True).start()
        return self.server

    def hubspot_token(self, account: str, token: str) -> str:
        """Keep the account's private-app token in the stack's SSM; its reference."""
        if not token.strip():
            raise ValueError("token: send the private app's token")
        return store_token(self.client("ssm"), self.settings.hubspot_tokens_path, account, token)

    def hubspot_sync(self, account: str | None = None) -> dict[str, Any]:
        """Run the sync function now, as its schedule does (one account, or every one)."""
        sync = load_handler(self.root, "sync")
        result: dict[str, Any] = sync.lambda_handler(sync_event(account), LongLambdaContext())
        return result

    def _drain_changes(self, instance: int = 0) -> None:
        """The changes queue → the real scorer handler, as Lambda's SQS event source would (one
        thread per concurrent scorer instance)."""
        scorer = load_handler(self.root, "scorer", instance)
        scorer.scorer.cache_clear()
        sqs = self.client("sqs")
        url = self.settings.changes_queue_url
        while self.server is not None:
            reply = sqs.receive_message(
                QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10, VisibilityTimeout=30
            )
            messages = reply.get("Messages", [])
            if not messages:
                continue
            try:
                result = scorer.lambda_handler(sqs_event(messages, url), LocalLambdaContext())
                failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            except Exception:  # every message failed: Powertools raises; Lambda would retry
                logger.exception("scorer batch failed; its messages will be received again")
                failed = {m["MessageId"] for m in messages}
            settle(sqs, url, messages, failed)

    def _history_stream(self) -> StreamReader:
        """The history table's stream → the real notify handler (as on AWS)."""
        import boto3

        notify = load_handler(self.root, "notify")
        for cached in (notify.publisher, notify.revisions, notify.changes):
            cached.cache_clear()  # this stack's settings, not an earlier one's
        credentials = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
        endpoint = self.settings.dynamodb_endpoint
        dynamodb = boto3.client(
            "dynamodb", region_name=REGION, endpoint_url=endpoint, **credentials
        )
        streams = boto3.client(
            "dynamodbstreams", region_name=REGION, endpoint_url=endpoint, **credentials
        )
        pipe = pipe_history(self.client("sqs"), self.settings.writeback_queue_url)

        def handle(event: dict[str, Any]) -> Any:  # the stream's two readers on AWS
            pipe(event)  # (a batch read again re-sends keys: pushing a record twice is harmless)
            return notify.lambda_handler(event, LocalLambdaContext())

        return StreamReader(dynamodb, streams, self.settings.history_table, handle)

    def drain(self, timeout: float = 60.0, jobs: bool = False) -> None:
        """Wait until the changes queue (and with `jobs`, the recompute queue) is empty and
        nothing is in flight: every change (and job) sent so far is applied."""
        sqs = self.client("sqs")
        deadline = time.monotonic() + timeout
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        queues = [self.settings.changes_queue_url]
        if jobs:
            queues.append(self.settings.recompute_queue_url)

        def busy() -> bool:
            return any(
                any(int(a["Attributes"].get(n, 0)) for n in names)
                for a in (
                    sqs.get_queue_attributes(QueueUrl=u, AttributeNames=names) for u in queues
                )
            )

        while time.monotonic() < deadline:
            if not busy():
                if self.history_stream is not None:  # and their status changes are out
                    wait_for(self.history_stream, 2, max(deadline - time.monotonic(), 1.0))
                    if busy():
                        continue  # the stream fed changes back (scores reading other scores)
                if self.writeback is not None:  # and their scores are in HubSpot
                    wait_until_empty(
                        self.client("sqs"), self.settings.writeback_queue_url, deadline
                    )
                return
            time.sleep(0.1)
        raise TimeoutError(f"the local queues did not drain in {timeout:.0f} s")

    def _sweep_now_and_then(self) -> None:
        while self.server is not None:
            time.sleep(SWEEP_EVERY)
            if self.server is not None:
                self.sweep()

    def _run_jobs(self) -> None:
        sqs = self.client("sqs")  # its own: a thread of its own
        store = DynamoStore(Tables.bind(self.settings))
        starter = SqsJobStarter(self.settings, sqs)
        while self.server is not None:
            reply = sqs.receive_message(
                QueueUrl=self.settings.recompute_queue_url, WaitTimeSeconds=1, MaxNumberOfMessages=1
            )
            for message in reply.get("Messages", []):
                failed = set()
                try:
                    job = json.loads(message["Body"])
                    run_job(
                        store,
                        job["account_id"],
                        job["job_id"],
                        as_of=self.clock.now(),
                        settle=wait_in_process,
                        datasets=bootstrap.datasets(self.settings),
                        start_job=starter,
                    )
                except Exception:
                    logger.exception("recompute job failed; it will be received again")
                    failed.add(message["MessageId"])
                settle(sqs, self.settings.recompute_queue_url, [message], failed)
            time.sleep(0.05)

    def queue_depths(self) -> dict[str, int]:
        """Messages waiting or in flight per local queue (dead-letter queues included)."""
        sqs = self.client("sqs")
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        depths = {}
        for url in sqs.list_queues(QueueNamePrefix=self.prefix).get("QueueUrls", []):
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)
            name = url.rsplit("/", 1)[-1].removeprefix(f"{self.prefix}-")
            depths[name] = sum(int(attributes["Attributes"].get(n, 0)) for n in names)
        return depths

    def dead_letters(self) -> dict[str, int]:
        """Messages in each dead-letter queue (what failed maxReceiveCount times)."""
        return {k: v for k, v in self.queue_depths().items() if "DeadLetter" in k}

    def stop(self) -> None:
        if self.history_stream is not None:
            self.history_stream.stop()
        if self.writeback is not None:
            self.writeback.stop()
        if self.server is not None:
            server, self.server = self.server, None
            server.shutdown()
        for stop in reversed(self.stoppers):
            stop()
