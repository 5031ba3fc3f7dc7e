"""Pure plan formatting and diffing, on hand-made plans."""

from __future__ import annotations

import json

from infra.plan import diff as pd
from infra.plan import model as pm
from infra.plan import normalize as pn
from infra.plan import render as pr

ACCOUNT = "azure-native:cognitiveservices:Account"
ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE = "azure-native:privatedns:PrivateZone"
APP = "azure-native:app:ContainerApp"


def res(type_, name, parent=None, protect=False, **inputs):
    return {"type": type_, "name": name, "parent": parent, "inputs": inputs, "protect": protect}


def base_plan():
    return [
        res("liveness:face:FaceAccount", "face"),
        res(ACCOUNT, "face-account", "face", accountName="fl-dev-face",
            properties={"publicNetworkAccess": "Disabled", "networkAcls": {"defaultAction": "Deny", "ipRules": []}}),
        res(ENDPOINT, "face-pe", "face", groupIds=["account"]),
        res(ZONE, "face-zone", "face", privateZoneName="privatelink.cognitiveservices.azure.com"),
        res(APP, "proxy-app", "proxy", template={"scale": {"minReplicas": 1, "maxReplicas": 3}},
            configuration={"secrets": [{"name": "nginx-conf", "value": "[secret]"}]}),
    ]


def test_flatten_names_every_leaf_with_a_path():
    flat = pn.flatten({"a": {"b": [1, {"c": "x"}], "e": {}}, "tags": {"managed-by": "pulumi", "odd key": 1}, "l": []})
    assert flat == {"a.b[0]": 1, "a.b[1].c": "x", "a.e": {}, "tags.managed-by": "pulumi", 'tags["odd key"]': 1, "l": []}


def test_identical_plans_have_no_diff():
    d = pd.diff_plans(base_plan(), base_plan())
    assert d.empty and d.unchanged == 5 and d.counts() == "0 to add, 0 to change, 0 to remove"


def test_diff_names_added_removed_and_changed_inputs():
    head = base_plan()
    head[1]["inputs"]["properties"]["networkAcls"]["ipRules"] = [{"value": "203.0.113.0/24"}]
    head[1]["inputs"]["properties"]["publicNetworkAccess"] = "Enabled"
    head[4]["inputs"]["template"]["scale"]["maxReplicas"] = 5
    del head[3]  # the private zone goes (e.g. privateDnsMode existing)
    head.append(res("azure-native:dns:RecordSet", "dns-verification", "dns", ttl=60, txtRecords=[{"value": ["[secret]"]}]))

    d = pd.diff_plans(base_plan(), head)
    assert [(r.type, r.name) for r in d.added] == [("azure-native:dns:RecordSet", "dns-verification")]
    assert [(r.type, r.name) for r in d.removed] == [(ZONE, "face-zone")]
    changed = {(c.type, c.name): c for c in d.changed}
    assert set(changed) == {(ACCOUNT, "face-account"), (APP, "proxy-app")}
    account = changed[(ACCOUNT, "face-account")]
    assert set(account.paths) == {
        "properties.publicNetworkAccess",
        "properties.networkAcls.ipRules",
        "properties.networkAcls.ipRules[0].value",
    }
    by_path = {c.path: c for c in account.changes}
    assert (by_path["properties.publicNetworkAccess"].before, by_path["properties.publicNetworkAccess"].after) == ("Disabled", "Enabled")
    assert by_path["properties.networkAcls.ipRules[0].value"].before is pn.ABSENT
    assert changed[(APP, "proxy-app")].paths == ["template.scale.maxReplicas"]
    assert d.unchanged == 2 and d.counts() == "1 to add, 2 to change, 1 to remove"


def test_type_changes_parent_moves_and_protection_are_changes():
    head = base_plan()
    head[2]["parent"] = "network"
    head[1]["protect"] = True
    head[4]["inputs"]["template"]["scale"]["minReplicas"] = True  # 1 == True in Python, not in JSON
    d = pd.diff_plans(base_plan(), head)
    paths = {(c.name, p) for c in d.changed for p in c.paths}
    assert paths == {("face-pe", "(parent)"), ("face-account", "(protect)"), ("proxy-app", "template.scale.minReplicas")}


def test_a_resource_renamed_is_a_remove_and_an_add():
    head = base_plan()
    head[2]["name"] = "face-private-endpoint"
    d = pd.diff_plans(base_plan(), head)
    assert [r.name for r in d.added] == ["face-private-endpoint"] and [r.name for r in d.removed] == ["face-pe"]


def test_repeated_type_and_name_are_told_apart_by_parent():
    base = [res(ZONE, "zone", "a", x=1), res(ZONE, "zone", "b", x=1)]
    head = [res(ZONE, "zone", "a", x=1), res(ZONE, "zone", "b", x=2)]
    d = pd.diff_plans(base, head)
    assert [(c.name, c.paths) for c in d.changed] == [("zone (in b)", ["x"])]


def test_json_is_the_design_shape_and_drops_extra_fields():
    doc = pn.plan_json(base_plan())
    assert all(set(item) == {"type", "name", "parent", "inputs"} for item in doc)
    assert json.loads(json.dumps(doc))[1]["inputs"]["accountName"] == "fl-dev-face"


def test_placeholder_of_a_secure_value_in_plain_inputs_is_an_error_finding():
    plan = pn.as_resources(base_plan() + [res(APP, "leaky", secrets=[{"value": "code=offline-placeholder-secret"}])])
    leaks = pn.placeholder_leaks(plan, "offline-placeholder-secret")
    assert [(f.severity, f.resource, f.message) for f in leaks] == [
        ("error", "leaky", "input secrets[0].value carries a secure config value as plain text")]
    assert pn.placeholder_leaks(pn.as_resources(base_plan()), "offline-placeholder-secret") == []


def test_markdown_diff_is_a_pr_comment_with_counts_rows_and_findings():
    head = base_plan()
    head[1]["inputs"]["properties"]["publicNetworkAccess"] = "Enabled"
    head.append(res("azure-native:dns:RecordSet", "dns-verification", "dns"))
    finding = pm.Finding("error", "account is private", "publicNetworkAccess is Enabled", "face-account")
    md = pr.render_diff_markdown("dev", "origin/main (abc1234567)", pd.diff_plans(base_plan(), head), [finding], [])
    lines = md.splitlines()
    assert lines[0] == "<!-- liveness-offline-plan:dev -->"
    assert "**1 to add, 1 to change, 0 to remove**" in md
    assert "| ➕ add | `azure-native:dns:RecordSet` `dns-verification` | |" in lines
    row = next(line for line in lines if line.startswith("| ✏️ change"))
    assert '`properties.publicNetworkAccess`: `"Disabled"` → `"Enabled"`' in row
    assert "- **error** account is private on `face-account`: publicNetworkAccess is Enabled *(new in this change)*" in lines


def test_markdown_diff_reports_resolved_findings_and_no_changes():
    old = pm.Finding("error", "account is private", "publicNetworkAccess is Enabled", "face-account")
    md = pr.render_diff_markdown("prod", "main", pd.diff_plans(base_plan(), base_plan()), [], [old])
    assert "No resource changes." in md and "resolved by this change: account is private" in md


def test_markdown_code_spans_survive_pipes_and_backticks():
    assert pr.md_code("a|b") == "`a\\|b`"
    assert pr.md_code("x `y` z") == "``x `y` z``"
    assert pr.md_code("`edge`") == "`` `edge` ``"


def test_long_values_are_shortened_and_secrets_stay_as_marked():
    assert pn.show("x" * 200).endswith("…") and len(pn.show("x" * 200)) == pn.MAX_VALUE_CHARS
    assert pn.show("[secret]") == "[secret]" and pn.show(pn.ABSENT) == "(absent)" and pn.show("a\nb") == '"a\\nb"'


def test_text_plan_lists_resources_inputs_and_findings():
    text = pr.render_text("dev", base_plan(), [{"severity": "warning", "invariant": "i", "message": "m", "resource": None}],
                          [("location", "westeurope")])
    assert "Offline plan for stack 'dev': 5 resources" in text
    assert "  + azure-native:cognitiveservices:Account  face-account  (parent face)" in text
    assert '      properties.networkAcls.defaultAction = "Deny"' in text
    assert "Security findings: 0 error(s), 1 warning(s)" in text and "WARNING: i: m" in text


def test_numbers_that_are_equal_are_no_change_but_bools_are_not_numbers():
    base = [res(APP, "app", ttl=300.0, ratio=0.5, n=1, flag=True, size=0)]
    same = [res(APP, "app", ttl=300, ratio=0.5, n=1.0, flag=True, size=0.0)]
    assert pd.diff_plans(base, same).empty
    # An old ref rendering whole numbers as floats is not a change; a real change still is.
    moved = [res(APP, "app", ttl=60, ratio=0.5, n=1, flag=True, size=0)]
    assert [c.paths for c in pd.diff_plans(base, moved).changed] == [["ttl"]]
    # True == 1 and False == 0 in Python, but a bool turning into a number is a change.
    flipped = [res(APP, "app", ttl=300, ratio=0.5, n=True, flag=1, size=False)]
    assert sorted(pd.diff_plans(base, flipped).changed[0].paths) == ["flag", "n", "size"]
    # A number turning into its string is a change too.
    assert pd.diff_plans(base, [res(APP, "app", ttl="300", ratio=0.5, n=1, flag=True, size=0)]).changed[0].paths == ["ttl"]


NGINX = "\n".join(
    ["# nginx.conf of the Face liveness reverse proxy, rendered by components/proxy_config.py; do not edit by hand."]
    + [f"directive_{i} value_{i};" for i in range(20)]
    + ["log_format liveness_json escape=json '{\"method\":\"$request_method\"}';"]
    + [f"other_{i} on;" for i in range(20)]
) + "\n"


def nginx_plans(new_log_format: str):
    def plan(conf):
        return [res(APP, "proxy-app", "proxy", configuration={"secrets": [
            {"name": "nginx-conf", "value": conf}, {"name": "registry-password", "value": "[secret]"}]})]
    head_conf = NGINX.replace("log_format liveness_json escape=json '{\"method\":\"$request_method\"}';", new_log_format)
    return plan(NGINX), plan(head_conf)


def test_a_changed_line_deep_in_a_multi_line_input_is_shown_as_a_unified_diff():
    new = "log_format liveness_json escape=json '{\"method\":\"$request_method\",\"auth\":\"$http_authorization\"}';"
    base, head = nginx_plans(new)
    d = pd.diff_plans(base, head)
    (change,) = d.changed[0].changes
    assert change.path == "configuration.secrets[0].value"
    # The one-line form cannot tell the two apart (both shortened to the same first 80 characters) ...
    assert pn.show(change.before) == pn.show(change.after)
    hunk = pn.text_diff(change.before, change.after)
    assert "-log_format liveness_json escape=json '{\"method\":\"$request_method\"}';" in hunk
    assert f"+{new}" in hunk
    assert hunk[0].startswith("--- ") and hunk[1].startswith("+++ ") and hunk[2].startswith("@@ ")
    assert sum(line.startswith(("-", "+")) and not line.startswith(("---", "+++")) for line in hunk) == 2

    text = pr.render_diff_text("dev", "HEAD~1", d, [])
    assert "      configuration.secrets[0].value: multi-line text, 1 line(s) added, 1 removed" in text
    assert f"\n          +{new}\n" in text and "\n          -log_format liveness_json" in text
    assert "directive_0" not in text  # context stays near the change: three lines around it

    md = pr.render_diff_markdown("dev", "HEAD~1", d, [])
    row = next(line for line in md.splitlines() if line.startswith("| ✏️ change"))
    assert "`configuration.secrets[0].value`: multi-line text, 1 line(s) added, 1 removed (diff below)" in row
    block = md[md.index("<details><summary>"):]
    assert block.startswith("<details><summary>✏️ <code>proxy-app</code> <code>configuration.secrets[0].value</code></summary>\n\n")
    body = block[block.index("```diff\n") + len("```diff\n"): block.index("\n```\n")]
    assert body.splitlines() == hunk
    assert block.rstrip().endswith("</details>")
    # Deterministic: the same inputs give the same bytes.
    assert pr.render_diff_markdown("dev", "HEAD~1", pd.diff_plans(*nginx_plans(new)), []) == md


def test_multi_line_diffs_never_show_secret_values():
    base, head = nginx_plans("log_format liveness_json escape=json '{}';")
    head[0]["inputs"]["configuration"]["secrets"][1]["value"] = "[secret]"  # rotated: still only [secret]
    head[0]["inputs"]["configuration"]["secrets"].append({"name": "new", "value": "[secret]"})
    d = pd.diff_plans(base, head)
    md, text = pr.render_diff_markdown("dev", "b", d, []), pr.render_diff_text("dev", "b", d, [])
    for out in (md, text):
        assert "configuration.secrets[2].value" in out and "[secret]" in out
    # A multi-line value that turns secret is not diffed line by line: only [secret] is shown for it.
    head2 = nginx_plans("x;")[1]
    head2[0]["inputs"]["configuration"]["secrets"][0]["value"] = "[secret]"
    d2 = pd.diff_plans(base, head2)
    assert "```diff" not in pr.render_diff_markdown("dev", "b", d2, [])
    assert pn.text_diff("[secret]", NGINX) == [] and pn.text_diff(NGINX, "[secret]") == []


def test_multi_line_code_fences_outgrow_backticks_in_the_text():
    before, after = "a\n```\nb\n", "a\n```\nc\n"
    d = pd.diff_plans([res(APP, "x", script=before)], [res(APP, "x", script=after)])
    md = pr.render_diff_markdown("dev", "b", d, [])
    assert "````diff\n" in md and "\n````\n" in md


def test_markdown_plan_shows_every_resources_inputs_in_a_collapsed_block():
    plan = base_plan() + [res(APP, "proxy-<b>", "proxy", script="line one\n```\n")]
    md = pr.render_markdown("dev", plan, [])
    lines = md.splitlines()
    summaries = [line for line in lines if line.startswith("<details><summary><code>")]
    assert summaries[0] == "<details><summary><code>liveness:face:FaceAccount</code> <code>face</code></summary>"
    assert summaries[-1] == f"<details><summary><code>{APP}</code> <code>proxy-&lt;b&gt;</code></summary>"
    assert len(summaries) == len(plan) and md.count("</details>") == len(plan) + 1
    block = md[md.index(summaries[1]):]
    block = block[: block.index("</details>")]
    assert block.splitlines()[2:] == [
        "```",
        'accountName = "fl-dev-face"',
        'properties.networkAcls.defaultAction = "Deny"',
        "properties.networkAcls.ipRules = []",
        'properties.publicNetworkAccess = "Disabled"',
        "```",
        "",
    ]
    assert "configuration.secrets[0].value = [secret]" in md
    # A multi-line string is shown in full, line by line, inside a fence longer than its backticks.
    assert "````\nscript = |\n    line one\n    ```\n````" in md
    # The face component has no inputs of its own; said so rather than left blank.
    assert "```\n(no inputs)\n```" in md
    assert pr.render_markdown("dev", plan, []) == md
