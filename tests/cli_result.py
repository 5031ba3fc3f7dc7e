"""What one `liveness-infra` command run in-process leaves: its exit code, stdout and stderr."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    @property
    def data(self) -> dict[str, Any]:
        """stdout read as the command's --json document."""
        return json.loads(self.out)
