"""Every `liveness-infra …` command shown in README.md and docs/*.md parses with the CLI's own
argparse (built, never run), and every repository path those pages name exists: the docs cannot
drift from the code unnoticed."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from infra.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Synopsis placeholders → a value of the right shape, so argparse's own type checks apply.
PLACEHOLDERS = {
    "S": "dev", "NAME": "dev", "<stack>": "dev", "H": "liveness.contoso.com", "H:P": "127.0.0.1:8080",
    "IP:PORT": "127.0.0.1:8443", "F": "file", "FILE": "file", "REF": "origin/main", "C": "code",
    "https://HOST": "https://liveness.contoso.com", "<base commit>": "origin/main",
}
# Where a shown command ends: a shell operator, a comment, the end of a code span.
_END = re.compile(r"\s(?:\||&&|&|;|>|#)|\)|`")


def _joined_lines(text: str) -> list[str]:
    """The page's lines, with shell continuations (`\\` at the end) joined."""
    return text.replace("\\\n", " ").splitlines()


def _commands(page: Path) -> list[tuple[int, str, bool]]:
    """(line, command, whether it is a whole command line: in a code block or a table row)."""
    found = []
    fenced = False
    for number, line in enumerate(_joined_lines(page.read_text()), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        table = line.lstrip().startswith("|")
        # In a table, the first cell is a command's synopsis; later cells are prose.
        pipe = re.search(r"(?<!\\)\|", line.lstrip()[1:]) if table else None
        first_cell_end = len(line) - len(line.lstrip()) + 1 + pipe.start() if pipe else 0
        for match in re.finditer(r"liveness-infra((?: [^`\n]*)?)", line):
            text = match.group(1)
            if table:
                text = text.replace("\\|", "\x00")  # an escaped pipe inside a table cell: alternatives
            text = text.replace("<base commit>", "<base-commit>")
            end = _END.search(text)
            text = (text[:end.start()] if end else text).replace("\x00", "|")
            whole = fenced or (table and match.start() < first_cell_end)
            found.append((number, text.replace("<base-commit>", "<base commit>").strip(), whole))
    return found


def _argv(shown: str) -> list[str]:
    """A synopsis as one concrete command: optional groups dropped, first alternative taken."""
    text = shown.replace("…", "")
    while re.search(r"\[[^\[\]]*\]", text):
        text = re.sub(r"\[[^\[\]]*\]", "", text)
    text = text.split(" | ")[0].split(" / ")[0]
    for placeholder, value in sorted(PLACEHOLDERS.items(), key=lambda kv: -len(kv[0])):
        text = re.sub(rf"(?<![\w<-]){re.escape(placeholder)}(?![\w>-])", value, text)
    text = re.sub(r"<[^<>]+>", "x", text)
    return [token.split("|")[0] if not token.startswith("-") or "|" not in token else token
            for token in shlex.split(text)]


COMMANDS = [(page.name, number, shown, whole) for page in PAGES for number, shown, whole in _commands(page)]
# argparse has no public accessor for a parser's subcommands: its subparsers action holds them.
COMMAND_NAMES = {name for action in build_parser()._actions if isinstance(action, argparse._SubParsersAction)
                 for name in action.choices}


def test_the_pages_show_commands():
    assert len(COMMANDS) > 30


@pytest.mark.parametrize("page, line, shown, whole", COMMANDS, ids=[f"{p}:{n}" for p, n, _, _ in COMMANDS])
def test_every_shown_command_parses(page, line, shown, whole):
    """Code blocks and table rows are whole command lines; a command quoted in a sentence may
    leave out required flags ("`plan --json`"), but what it shows must exist."""
    argv = _argv(shown)
    if not argv or argv[0].startswith("<"):
        return  # "the liveness-infra command": prose, nothing to parse
    if len(argv) == 1 and argv[0] in COMMAND_NAMES:
        return  # a command named in prose ("`liveness-infra logs`"), not a command line
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            build_parser().parse_args(argv)
        except SystemExit as exc:
            if not whole and "arguments are required" in err.getvalue():
                return
            assert exc.code == 0, f"{page}:{line}: `liveness-infra {shown}` → {argv}: {err.getvalue().strip()}"


_PATH = re.compile(r"(?<![\w./-])((?:infra|components|tests|docs|scripts|benchmarks|examples|provider|stacks|"
                   r"\.ci|\.github)/[\w./-]*)")
# A path a page names for the user to create, not one the repository holds.
_USER_FILES = re.compile(r"<|Pulumi\.(?:mine|pr-|<)")


def test_every_path_the_pages_name_exists():
    missing = []
    for page in PAGES:
        for number, line in enumerate(page.read_text().splitlines(), 1):
            for found in _PATH.finditer(line):
                path, after = found.group(1).rstrip("."), line[found.end():found.end() + 1]
                if _USER_FILES.search(path) or "*" in path or after in ("<", "*", "{", "&"):
                    continue
                if not (ROOT / path).exists() and not (page.parent / path).exists():
                    missing.append(f"{page.name}:{number}: {path}")
    assert not missing, missing


def test_a_wrong_command_is_caught():
    """Control: the parse check refuses a flag that does not exist and a placeholder left raw."""
    for shown in ("plan --stak dev", "proxy serve --stack S --face-address H:P"):
        with contextlib.redirect_stderr(io.StringIO()), pytest.raises(SystemExit):
            build_parser().parse_args(_argv(shown) + (["--bogus"] if "stak" not in shown else []))
