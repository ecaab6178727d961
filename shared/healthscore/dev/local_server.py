"""The local stack's HTTP server: API Gateway events for the real API and webhook handlers
(dev tokens checked as the JWT authorizer would), and the local-only routes with no AWS twin
(the clock, webhook secrets, draining the queues, HubSpot tokens and sync)."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from healthscore.adapters.auth import Unauthenticated, verify_dev_token
from healthscore.adapters.gateway_events import gateway_event
from healthscore.adapters.webhooks import WebhookRefused, check_account
from healthscore.dev.local_resources import LocalLambdaContext, parse_duration

if TYPE_CHECKING:
    from healthscore.dev.local_stack import LocalStack

PUBLIC_PATHS = ("/openapi.json", "/docs")
WEBHOOK_PATH = "/webhooks/events"
_LOCAL = "clock webhook-secret drain queues hubspot-token hubspot-sync"  # no AWS twin
LOCAL_PATHS = tuple(f"/local/{name}" for name in _LOCAL.split())


def request_handler(
    stack: LocalStack, api: ModuleType, webhook: ModuleType
) -> type[BaseHTTPRequestHandler]:
    """The request handler class for `ThreadingHTTPServer`, bound to the stack's handlers."""
    secret = stack.secret
    locks = {module.__name__: threading.Lock() for module in (api, webhook)}

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length).decode("utf-8", errors="replace") if length else None
            if parts.path in LOCAL_PATHS:
                return self._local(parts.path, parts.query, body)
            claims = None
            handler = api
            auth = self.headers.get("authorization", "")
            if parts.path == WEBHOOK_PATH:
                handler = webhook
            elif parts.path not in PUBLIC_PATHS:
                if not auth.lower().startswith("bearer "):
                    return self._reply(
                        401, {"message": "Unauthorized: send Authorization: Bearer <token>"}
                    )
                try:
                    claims = verify_dev_token(auth[7:].strip(), secret)
                except Unauthenticated as error:
                    return self._reply(401, {"message": str(error)})
            headers = {k.lower(): v for k, v in self.headers.items()}
            headers["x-forwarded-proto"] = "http"
            event = gateway_event(
                self.command,
                parts.path,
                claims,
                raw_body=body,
                raw_query=parts.query,
                headers=headers,
            )
            # one invocation at a time per handler, as in one Lambda execution environment
            # (the resolver keeps per-request state on the module's app)
            with locks[handler.__name__]:
                result = handler.lambda_handler(event, LocalLambdaContext())
            self.send_response(int(result["statusCode"]))
            for name, value in (result.get("headers") or {}).items():
                self.send_header(name, value)
            for name, values in (result.get("multiValueHeaders") or {}).items():
                for value in values:
                    self.send_header(name, value)
            payload = (result.get("body") or "").encode()
            if result.get("isBase64Encoded"):
                payload = base64.b64decode(payload)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return None

        def _local(self, path: str, query: str, body: str | None) -> None:
            """The local-only routes (no AWS equivalent): the clock, webhook secrets, and
            waiting until the queues are drained."""
            params = dict(parse_qsl(query))
            try:
                if path == "/local/drain":
                    stack.drain(jobs=True)
                    return self._reply(200, {"drained": True})
                if path == "/local/queues":
                    return self._reply(200, {"depths": stack.queue_depths()})
                if path == "/local/hubspot-sync":
                    named = params.get("account") or json.loads(body or "{}").get("account")
                    return self._reply(200, stack.hubspot_sync(named))
                if path == "/local/hubspot-token":
                    request = json.loads(body or "{}")
                    account = check_account(request.get("account"))
                    name = stack.hubspot_token(account, str(request.get("token") or ""))
                    return self._reply(200, {"account": account, "token_parameter": name})
                if path == "/local/clock":
                    if self.command == "GET":
                        return self._reply(200, {"now": stack.clock.now().isoformat()})
                    request = json.loads(body or "{}")
                    by = parse_duration(str(request.get("advance", "")))
                    return self._reply(200, stack.advance_clock(by))
                account = check_account(params.get("account"))
                return self._reply(
                    200, {"account": account, "secret": stack.webhook_secret(account)}
                )
            except (ValueError, WebhookRefused) as error:
                return self._reply(400, {"message": str(error)})
            except TimeoutError as error:
                return self._reply(503, {"message": str(error)})

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _handle

        def log_message(self, format: str, *args: Any) -> None:
            return  # quiet: the API's own logs say what happened

    return Handler
