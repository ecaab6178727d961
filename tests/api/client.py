"""Drive the API function with API Gateway HTTP API (payload v2) events, as AWS would."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from healthscore.adapters.auth import dev_claims
from healthscore.adapters.gateway_events import gateway_event
from healthscore.dev.local_stack import LocalLambdaContext as LambdaContext
from healthscore.dev.local_stack import load_handler
from healthscore.domain.plans import Plan

ROOT = Path(__file__).parents[2]


def load_function(name: str) -> ModuleType:
    """functions/<name>/app.py as a module (each function is its own Lambda code folder)."""
    return load_handler(ROOT, name)


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


class ApiClient:
    """Requests as one user of one account."""

    def __init__(self, module: ModuleType, claims: dict[str, Any] | None) -> None:
        self.module = module
        self.claims = claims

    @classmethod
    def admin(cls, module: ModuleType, account: str, plan: Plan = Plan.PROFESSIONAL) -> ApiClient:
        return cls(module, dev_claims(account, f"admin@{account}", plan=plan))

    @classmethod
    def viewer(cls, module: ModuleType, account: str) -> ApiClient:
        return cls(module, dev_claims(account, f"viewer@{account}", manage=False))

    def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Reply:
        event = gateway_event(method, path, self.claims, body, **kwargs)
        result = self.module.lambda_handler(event, LambdaContext())
        text = result.get("body")
        try:
            parsed = json.loads(text) if text else None
        except json.JSONDecodeError:
            parsed = text
        return Reply(result["statusCode"], parsed, result.get("headers") or {})

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.request("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.request("PUT", path, body, **kwargs)

    def delete(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.request("DELETE", path, body, **kwargs)
