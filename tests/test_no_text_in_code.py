"""User-visible text lives in locales/: no Chinese or other CJK string literal in the code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Ideographs and the list comma "、"; other full-width punctuation is only parsed, never shown.
CJK = re.compile(r"[\u3001\u3400-\u9fff]")
# Sample data the demo types in as its users (names, buildings, greetings), not interface text.
DATA_FILES = {"bot/demo.py"}


def _string_literals(tree: ast.AST) -> list[tuple[int, str]]:
    """String constants that could be shown: not docstrings, not patterns for re.compile."""
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef
                                | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    patterns = {id(arg) for node in ast.walk(tree)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "compile" for arg in node.args}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings | patterns]


def test_no_cjk_string_literals_in_features_runtime_or_storage() -> None:
    offenders = []
    for folder in ("handlers", "bot", "storage"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if str(path.relative_to(ROOT)) in DATA_FILES:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            offenders += [f"{path.relative_to(ROOT)}:{line}: {text!r}"
                          for line, text in _string_literals(tree) if CJK.search(text)]
    assert offenders == []
