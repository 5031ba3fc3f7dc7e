"""`liveness-infra logs`: the proxy's access-log summary, from the stack's workspace or a local file.

`--stack S [--since 1h]` asks the stack's Log Analytics workspace (its id and the app name from the
stack outputs `logAnalyticsWorkspaceId` and `proxyAppName`, or `--workspace-id`/`--app`) with
azure-monitor-query and DefaultAzureCredential; `--file F` reads a JSON access log saved locally,
e.g. `liveness-infra proxy serve ... > access.log`. Summarising is infra/logs/summary.py.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

from infra.cli_args import add_json_argument, add_stack_argument
from infra.errors import UserError
from infra.stack_outputs import read_outputs
from infra.logs.summary import Summary, render_text, summarize, summary_from_tables

MAX_SINCE = timedelta(days=90)
_SINCE = re.compile(r"^(\d{1,6})([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}

EPILOG = """\
examples:
  liveness-infra logs --stack prod --since 6h
  liveness-infra logs --file access.log --json
The workspace path needs the Pulumi CLI for the stack outputs (or --workspace-id and --app) and
Azure credentials with read access to the workspace (Log Analytics Reader).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "logs", help="summarise the proxy's access log (stack workspace or a local file)",
        description="Requests per route, status mix, Face 403s, 429s, latency percentiles and top clients "
                    "by 429, from the stack's Log Analytics workspace or a local JSON access log.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group(required=True)
    add_stack_argument(source, required=False, reads="its deployed outputs, to query its Log Analytics workspace")
    source.add_argument("--file", help="summarise a JSON access log saved locally (one line per request)")
    p.add_argument("--since", default=None, help="how far back to look with --stack, e.g. 30m, 1h, 7d (default 1h)")
    p.add_argument("--workspace-id", help="Log Analytics workspace (customer) id instead of the stack output")
    p.add_argument("--app", help="container app name instead of the stack output proxyAppName")
    add_json_argument(p)
    p.set_defaults(handler=run)


def parse_since(text: str) -> timedelta:
    m = _SINCE.match(text.strip())
    if not m:
        raise UserError(f"--since: received {text[:40]!r}; expected a number and a unit s, m, h or d, e.g. 1h")
    span = timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    if not timedelta(minutes=1) <= span <= MAX_SINCE:
        raise UserError(f"--since: received {text!r}; expected between 1m and {MAX_SINCE.days}d")
    return span


def summarize_file(path: str) -> Summary:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return summarize(handle, source=f"file {path}")
    except FileNotFoundError:
        raise UserError(f"--file: {path!r} does not exist; expected a JSON access log (e.g. saved from `proxy serve`)") from None
    except IsADirectoryError:
        raise UserError(f"--file: {path!r} is a directory; expected a JSON access log file") from None
    except OSError as exc:
        raise UserError(f"--file: cannot read {path!r} ({exc.strerror or exc}); expected a readable file") from None


# ---------------------------------------------------------------------------------------------
# Workspace
# ---------------------------------------------------------------------------------------------


def default_client() -> Any:
    """LogsQueryClient with DefaultAzureCredential (az login, environment, managed identity …)."""
    import logging

    from azure.identity import DefaultAzureCredential
    from azure.monitor.query import LogsQueryClient

    # Without credentials azure-identity logs a dozen lines per credential it tried before the
    # query fails; the failure itself is reported as one line, so its chatter is silenced.
    logging.getLogger("azure.identity").setLevel(logging.CRITICAL)
    return LogsQueryClient(DefaultAzureCredential())


def deployed_outputs(stack: str) -> dict[str, Any]:
    """The stack's outputs (infra/stack_outputs.py: Pulumi's Automation API; needs the CLI logged in)."""
    return read_outputs(stack, "pass --workspace-id and --app (outputs logAnalyticsWorkspaceId and proxyAppName)")


def _target(args: argparse.Namespace, outputs: Callable[[str], dict[str, Any]]) -> tuple[str, str]:
    workspace, app = args.workspace_id, args.app
    if workspace is None or app is None:
        found = outputs(args.stack)
        workspace = workspace or found.get("logAnalyticsWorkspaceId")
        app = app or found.get("proxyAppName")
        missing = [k for k, v in (("logAnalyticsWorkspaceId", workspace), ("proxyAppName", app)) if not v]
        if missing:
            raise UserError(f"--stack {args.stack}: stack outputs lack {', '.join(missing)} (deployed before "
                            "`logs` existed?): run `pulumi up`, or pass --workspace-id and --app")
    try:
        uuid.UUID(str(workspace))
    except ValueError:
        raise UserError(f"--workspace-id: received {str(workspace)[:60]!r}; expected the workspace's customer id (a GUID)") from None
    return str(workspace), str(app)


def _table(result: Any, name: str, warnings: list[str]) -> tuple[list[str], list[list[Any]]]:
    """Columns and rows of a query result (LogsQueryResult or LogsQueryPartialResult)."""
    status = str(getattr(getattr(result, "status", None), "value", getattr(result, "status", "")))
    if status == "PartialError":
        error = getattr(result, "partial_error", None)
        warnings.append(f"query {name}: partial result ({getattr(error, 'message', error)})")
        tables = getattr(result, "partial_data", None) or []
    elif status == "Success":
        tables = result.tables
    else:
        raise UserError(f"--stack: the workspace query {name} failed ({status or 'no status'})")
    if not tables:
        return [], []
    table = tables[0]
    columns = [getattr(c, "name", c) for c in table.columns]
    return columns, [list(row) for row in table.rows]


def summarize_workspace(client: Any, workspace_id: str, app: str, since: timedelta, source: str,
                        warnings: list[str]) -> Summary:
    from components.monitoring_queries import summary_queries

    try:
        queries = summary_queries(app)
    except ValueError:
        raise UserError(f"--app: received {app[:60]!r}; expected a container app name (lower-case letters, digits, hyphens)") from None
    tables = {}
    for name, query in queries.items():
        try:
            result = client.query_workspace(workspace_id, query, timespan=since)
        except Exception as exc:  # azure-core errors: credentials, permissions, network
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise UserError(f"--stack: querying workspace {workspace_id} failed: {type(exc).__name__}: {first}") from None
        tables[name] = _table(result, name, warnings)
    return summary_from_tables(tables, source)


def run(args: argparse.Namespace, client_factory: Callable[[], Any] = default_client,
        outputs: Callable[[str], dict[str, Any]] = deployed_outputs) -> int:
    warnings: list[str] = []
    if args.file is not None:
        for flag in ("since", "workspace_id", "app"):
            if getattr(args, flag) is not None:
                raise UserError(f"--{flag.replace('_', '-')}: applies to --stack only; a --file is summarised whole")
        summary = summarize_file(args.file)
        if summary.requests == 0 and summary.skipped_lines:
            raise UserError(f"--file: none of the {summary.skipped_lines} non-empty lines of {args.file!r} is a JSON "
                            "access-log entry; expected the proxy's log lines, e.g. saved from `proxy serve`")
        if summary.skipped_lines:
            warnings.append(f"skipped {summary.skipped_lines} malformed line(s) of {Path(args.file).name} "
                            f"(first at line {summary.first_skipped_line}): not a JSON access-log entry")
    else:
        since = parse_since(args.since or "1h")
        workspace, app = _target(args, outputs)
        summary = summarize_workspace(client_factory(), workspace, app, since,
                                      f"stack {args.stack}, app {app}, last {args.since or '1h'}", warnings)
    for warning in warnings:
        print(f"liveness-infra logs: warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary.as_json(), indent=2))
    else:
        sys.stdout.write(render_text(summary))
    return 0
