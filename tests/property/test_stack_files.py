"""Properties over generated stack files: bad input never crashes, never slips through.

1. Reading + validation raise nothing but a UserError (ConfigError or a stack-file error): one
   line of at most ~300 characters.
2. The one loader (infra/config/loader.py) gives the same answer whichever way the config reaches
   it: `config check` reading the stack file from a stacks directory, and the program under
   `pulumi up` reading the Pulumi runtime's config (its own `runtime_config` and `is_secret_config`
   over what the runtime holds): both valid with equal settings, or both the same error.
3. Every config that validates evaluates offline without an exception, and every security
   invariant (infra/plan/invariants/) holds on its plan; the plan's settings are check's settings.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Optional

import pulumi

from hypothesis import event, given, settings
from hypothesis import strategies as st

from infra import program
from infra.config.loader import load_settings, load_stack_settings, parse_settings
from infra.config.schema import KEYS
from infra.errors import MAX_MESSAGE, ConfigError, UserError
from infra.plan.offline import evaluate_config
from infra.stackfiles.document import parse_stack_document
from tests.property.conftest import plan_examples
from tests.property.strategies import BASE, plausible_documents, stack_documents

STACK = "prop"


def _check(document: bytes) -> tuple[Optional[Any], Optional[str], Optional[tuple[dict, set]]]:
    """(settings, error message, (config, secure)) as `config check` sees the document."""
    try:
        config, secure = parse_stack_document(document, "stacks/Pulumi.prop.yaml")
    except UserError as exc:
        return None, str(exc), None
    try:
        return load_settings(STACK, config, secure.__contains__), None, (config, secure)
    except UserError as exc:
        return None, str(exc), (config, secure)


def _assert_one_line(message: str) -> None:
    assert "\n" not in message and len(message) <= MAX_MESSAGE, message


def _from_file(document: bytes) -> tuple[Optional[Any], Optional[str]]:
    """(settings, error message) as `config check --stack prop` sees the document on disk."""
    with tempfile.TemporaryDirectory() as stacks:
        (Path(stacks) / f"Pulumi.{STACK}.yaml").write_bytes(document)
        try:
            return load_stack_settings(STACK, stacks_dir=Path(stacks)), None
        except UserError as exc:
            return None, str(exc).replace(str(Path(stacks) / f"Pulumi.{STACK}.yaml"), f"stacks/Pulumi.{STACK}.yaml")


def _from_runtime(config: dict[str, str], secure: set[str]) -> tuple[Optional[Any], Optional[str]]:
    """(settings, error message) as the program under `pulumi up` sees the same config."""
    pulumi.runtime.set_all_config(config, sorted(secure))
    try:
        return load_settings(STACK, program.runtime_config(), program.is_secret_config), None
    except UserError as exc:
        return None, str(exc)
    finally:
        pulumi.runtime.set_all_config({}, [])


@given(stack_documents())
def test_validation_never_crashes_and_agrees_with_the_runtime(document):
    checked, error = _from_file(document)
    if error is not None:
        _assert_one_line(error)
    try:
        config, secure = parse_stack_document(document, f"stacks/Pulumi.{STACK}.yaml")
    except UserError as exc:
        assert checked is None and error == str(exc), "check read a file the stack-file reader refuses"
        event("unreadable stack file")
        return
    assert all(isinstance(v, str) for v in config.values()), "the runtime only ever delivers strings"
    runtime, runtime_error = _from_runtime(config, secure)
    assert runtime_error == error
    assert runtime == checked
    event("valid" if checked is not None else "invalid config")


@settings(max_examples=plan_examples())
@given(plausible_documents())
def test_every_valid_config_plans_with_every_invariant_holding(document):
    checked, error, read = _check(document)
    if error is not None:
        _assert_one_line(error)
    if read is None:
        return
    config, secure = read
    try:
        evaluation = evaluate_config(STACK, config, tuple(sorted(secure)))
    except UserError as exc:
        assert checked is None and str(exc) == error, "plan refused what check accepted (or said another thing)"
        event("refused by check and plan")
        return
    assert checked is not None, f"plan accepted what check refused: {error}"
    assert evaluation.settings == checked
    broken = [f"{f.invariant}: {f.message}" for f in evaluation.findings if f.severity == "error"]
    assert not broken, broken
    event("planned, invariants hold")


_NATIVE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(), st.binary(max_size=4)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=8,
)


@settings(max_examples=plan_examples() * 2)
@given(st.dictionaries(st.sampled_from([k.name for k in KEYS] + ["unknownKey"]), _NATIVE, max_size=6),
       st.one_of(st.none(), _NATIVE))
def test_native_values_only_ever_raise_config_errors(overrides, provider_location):
    """Callers holding native values (tests, tools): anything at all, still only a ConfigError."""
    raw = {**BASE, **overrides}
    try:
        parse_settings(STACK, raw, provider_location=provider_location)
    except ConfigError as exc:
        _assert_one_line(str(exc))
