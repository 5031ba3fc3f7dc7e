"""A user's own stack next to the shipped ones, as the Quick start makes it (copy
stacks/Pulumi.dev.yaml, then edit): the suite checks the shipped examples by name, so a
half-edited copy fails no unrelated test, and `config check` is what reports it."""

from __future__ import annotations

import shutil

import pytest

from infra.stackfiles import files as stackfile
from infra.cli import main
from tests.shipped_stacks import SHIPPED_STACKS


def test_every_shipped_stack_is_in_stacks():
    assert set(SHIPPED_STACKS) <= set(stackfile.stack_names())


@pytest.fixture
def stacks_with_a_user_copy(tmp_path, monkeypatch):
    """A stacks dir holding the shipped stacks plus `mine`, a half-edited copy of dev."""
    for stack in SHIPPED_STACKS:
        shutil.copy(stackfile.STACKS_DIR / f"Pulumi.{stack}.yaml", tmp_path)
    text = (stackfile.STACKS_DIR / "Pulumi.dev.yaml").read_text()
    half_edited = "\n".join(ln for ln in text.splitlines() if "liveness:location:" not in ln)
    (tmp_path / "Pulumi.mine.yaml").write_text(half_edited.replace("liveness:proxyHost:", "liveness:proxyHots:") + "\n")
    monkeypatch.setattr(stackfile, "STACKS_DIR", tmp_path)
    return tmp_path


def test_config_check_reports_the_half_edited_user_stack(stacks_with_a_user_copy, capsys):
    assert main(["config", "check", "--stack", "mine"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "liveness:" in err, err


def test_the_shipped_stacks_still_check_beside_it(stacks_with_a_user_copy, capsys):
    assert "mine" in stackfile.stack_names()
    for stack in SHIPPED_STACKS:
        assert main(["config", "check", "--stack", stack]) == 0, capsys.readouterr().err
