"""Pulumi entry point (Pulumi.yaml: main: infra/)."""

import sys
from pathlib import Path

# `pulumi` runs this file with infra/ on sys.path; make the project root importable too, so the
# program works whether or not the package was pip-installed into the venv.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from components.args_errors import ComponentArgsError  # noqa: E402
from infra.errors import UserError, component_refusal, one_line  # noqa: E402
from infra.program import main  # noqa: E402

try:
    main()
except UserError as exc:
    # A config mistake: one clear line instead of a Python traceback in `pulumi up`.
    raise SystemExit(one_line(f"face-liveness-isolation: {exc}", 400)) from None
except ComponentArgsError as exc:
    # Config validation should have refused this first; still one line, naming the Args field.
    raise SystemExit(one_line(f"face-liveness-isolation: {component_refusal(exc)}", 400)) from None
