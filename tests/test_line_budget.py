"""The line budget: no source file over 800 lines of code (comments and docstrings excluded)."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import tapegrad

BUDGET = 800
PACKAGE = Path(tapegrad.__file__).parent


def code_lines(source: str) -> int:
    """Lines holding code: not blank, not only a comment, not part of a docstring."""
    docstrings = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docstrings.update(range(body[0].lineno, body[0].end_lineno + 1))
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in (
            tokenize.COMMENT,
            tokenize.NL,
            tokenize.NEWLINE,
            tokenize.INDENT,
            tokenize.DEDENT,
            tokenize.ENDMARKER,
        ):
            continue
        lines.update(range(token.start[0], token.end[0] + 1))
    return len(lines - docstrings)


def test_code_lines_counts_only_code():
    source = (
        '"""Doc."""\n\n# comment\nx = 1  # trailing\n\n\n'
        'def f():\n    """Doc\n    more."""\n    return x\n'
    )
    assert code_lines(source) == 3


def test_every_source_file_is_within_the_line_budget():
    sizes = {
        p.relative_to(PACKAGE).as_posix(): code_lines(p.read_text()) for p in PACKAGE.rglob("*.py")
    }
    over = {name: n for name, n in sizes.items() if n > BUDGET}
    assert not over, f"files over {BUDGET} code lines: {over}"
