"""Every KQL query the program declares parses with Microsoft's own parser (Kusto.Language, npm
@kusto/language-service-next, installed into .tools/ by scripts/install-system-deps.sh).

The queries are read from what the prod stack declares under the mock runtime (saved searches,
workbook charts, log alert conditions), plus the summaries `liveness-infra logs` runs, each with
the workspace function expanded to its body as the workspace runs it. Syntax only: the parser has
no schema of the workspace, so a misspelt column is not caught here (test_monitoring.py checks
fields against the nginx log format).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from components import monitoring_queries as mq
from tests.lifecycle.tools import ROOT
from tests.required_tools import missing_tool
from tests.unit.conftest import stack_evaluation

PARSER_PACKAGE = "@kusto/language-service-next"
PARSER_VERSION = "12.4.1"  # scripts/install-system-deps.sh pins the same
RUNNER = Path(__file__).resolve().parent / "kql_parse_runner.cjs"


@pytest.fixture(scope="module")
def parse():
    node = shutil.which("node")
    tools_dir = Path(os.environ.get("LIVENESS_TOOLS_DIR", ROOT / ".tools"))
    bridge = tools_dir / "node_modules" / PARSER_PACKAGE / "Kusto.Language.Bridge.min.js"
    if node is None or not bridge.is_file():
        missing_tool(f"the KQL parser (npm {PARSER_PACKAGE}@{PARSER_VERSION}) is not installed in {tools_dir}: "
                     "bash scripts/install-system-deps.sh")

    def run(queries: dict[str, str]) -> dict[str, list[str]]:
        done = subprocess.run([node, str(RUNNER), str(tools_dir)], input=json.dumps(queries),
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result["version"] == PARSER_VERSION
        return result["diagnostics"]
    return run


def declared_queries() -> dict[str, str]:
    ev = stack_evaluation("prod")
    app = ev.outputs["proxyAppName"]
    queries = {f"saved search {r.inputs['savedSearchId']}": r.inputs["query"]
               for r in ev.by_type("azure-native:operationalinsights:SavedSearch")}
    for r in ev.by_type("azure-native:monitor:ScheduledQueryRule"):
        (condition,) = r.inputs["criteria"]["allOf"]
        queries[f"alert {r.inputs['ruleName']}"] = condition["query"]
    (workbook,) = ev.by_type("azure-native:applicationinsights:Workbook")
    for i, item in enumerate(json.loads(workbook.inputs["serializedData"])["items"]):
        if item["type"] == 3:
            queries[f"workbook item {i}"] = item["content"]["query"]
    queries.update({f"logs summary {k}": q for k, q in mq.summary_queries(app).items()})
    return {name: mq.expand(q, app) for name, q in queries.items()}


def test_every_declared_query_parses(parse):
    queries = declared_queries()
    assert sum(name.startswith("alert ") for name in queries) == 3 and len(queries) >= 15
    assert {name: d for name, d in parse(queries).items() if d} == {}


def test_the_parser_reports_a_broken_query(parse):
    """Control: the check above can fail. A dropped operand and a missing pipe are reported."""
    rate = declared_queries()["alert fl-prod-proxy-5xx-rate"]
    broken = {"dropped operand": rate.replace("status >= 500", "status >="),
              "unclosed call": rate.replace("countif(status >= 500)", "countif(status >= 500")}
    assert all(broken[name] != rate for name in broken)
    found = parse({**broken, "intact": rate})
    assert found["dropped operand"] and found["unclosed call"] and found["intact"] == []
