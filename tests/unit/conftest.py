"""Shared fixtures for mock-runtime tests: offline evaluations, cached per configuration."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest

from infra.plan.model import Evaluation
from infra.plan.offline import evaluate_config, evaluate_stack

BASE_CONFIG: dict[str, Any] = {
    "liveness:lifecycle": "test",
    "liveness:location": "westeurope",
    "liveness:proxyHost": "liveness.dev.contoso.com",
    "liveness:dnsZoneName": "dev.contoso.com",
}
SECRET_CODE = "ms-verify-7f3c1a9e-5b2d-4e8f-a1c0-d9e8f7a6b5c4"


@functools.lru_cache(maxsize=None)
def _evaluate_frozen(stack: str, frozen: str, secret_keys: tuple[str, ...]) -> Evaluation:
    return evaluate_config(stack, json.loads(frozen), secret_keys)


def evaluate(overrides: dict[str, Any] | None = None, *, stack: str = "unit",
             secret_keys: tuple[str, ...] = ()) -> Evaluation:
    """Evaluate BASE_CONFIG with `overrides` (a value of None removes the key)."""
    config = {**BASE_CONFIG, **(overrides or {})}
    config = {k: v for k, v in config.items() if v is not None}
    return _evaluate_frozen(stack, json.dumps(config, sort_keys=True), secret_keys)


def verifying(overrides: dict[str, Any] | None = None, **kwargs) -> Evaluation:
    """A stack in registration state `verifying`, holding SECRET_CODE as a secret."""
    return evaluate({
        "liveness:registrationState": "verifying",
        "liveness:verificationCode": SECRET_CODE,
        "liveness:verificationCodeIssuedAt": "2026-11-20T09:30:00Z",
        **(overrides or {}),
    }, secret_keys=("liveness:verificationCode",), **kwargs)


@functools.lru_cache(maxsize=None)
def stack_evaluation(stack: str) -> Evaluation:
    return evaluate_stack(stack)


@pytest.fixture
def ev() -> Evaluation:
    return evaluate()
