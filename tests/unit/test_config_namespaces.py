"""A key set outside `liveness:` is refused with the key meant, in `config check`, `plan` and the program.

On the old code every case below printed "configuration valid" and deployed the default.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from infra.stackfiles import files as stackfile
from infra.cli import main
from infra.config.schema import PROJECT_NAME
from infra.errors import ConfigError
from infra.plan.offline import evaluate_config
from tests.unit.stack_documents import run_entrypoint

ROOT = Path(__file__).resolve().parents[2]
BASE = {
    "liveness:location": "westeurope",
    "liveness:proxyHost": "liveness.contoso.com",
    "liveness:dnsZoneName": "contoso.com",
    "liveness:lifecycle": "test",
}
WRONG = [
    (f"{PROJECT_NAME}:proxyMinReplicas", "liveness:proxyMinReplicas"),  # `pulumi config set proxyMinReplicas 5`
    ("proxyMinReplicas", "liveness:proxyMinReplicas"),                  # a bare key in the stack file
    ("livenes:proxyMinReplicas", "liveness:proxyMinReplicas"),          # a near-miss namespace
    ("Liveness:proxyMinReplica", "liveness:proxyMinReplicas"),          # case and a near-miss key
]


def test_project_name_matches_pulumi_yaml():
    assert yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["name"] == PROJECT_NAME


@pytest.mark.parametrize("key,meant", WRONG)
def test_config_check_names_the_key_meant(key, meant, tmp_path, monkeypatch, capsys):
    document = {"config": {**BASE, key: 5}}
    (tmp_path / "Pulumi.ns.yaml").write_text(yaml.safe_dump(document))
    monkeypatch.setattr(stackfile, "STACKS_DIR", tmp_path)
    assert main(["config", "check", "--stack", "ns"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert key in err and meant in err and f"pulumi config set {meant}" in err
    assert "configuration valid" not in err


@pytest.mark.parametrize("key,meant", WRONG)
def test_plan_refuses_the_same_keys(key, meant):
    with pytest.raises(ConfigError, match=meant):
        evaluate_config("ns", {**BASE, key: "5"})


def test_a_secret_under_a_wrong_namespace_is_not_echoed():
    with pytest.raises(ConfigError) as caught:
        evaluate_config("ns", {**BASE, f"{PROJECT_NAME}:verificationCode": "very-secret-code"})
    assert "very-secret-code" not in str(caught.value)


def test_provider_namespaces_and_liveness_keys_still_work():
    evaluation = evaluate_config("ns", {**BASE, "liveness:proxyMinReplicas": "3", "azure-native:location": "westeurope",
                                        "pulumi:disable-default-providers": '["kubernetes"]', "azure:location": "x"})
    assert evaluation.settings.proxy.min_replicas == 3


def test_the_program_under_pulumi_up_refuses_the_project_namespace():
    """infra/__main__.py as `pulumi up` runs it: config only through PULUMI_CONFIG, as the CLI writes it."""
    result = run_entrypoint({**BASE, f"{PROJECT_NAME}:proxyMinReplicas": "5"})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "pulumi config set liveness:proxyMinReplicas" in result.stderr
