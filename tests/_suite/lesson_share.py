"""How much of each lesson script is the lesson: ``python tests/_suite/lesson_share.py`` prints the table.

Counted: every line of a script but blank lines, docstrings and import statements.
Plumbing: the option parsing (each statement that builds the ``ArgumentParser``, adds an
option or parses the command line, and the functions named as an option's ``type=``), the ``if __name__ ==
"__main__":`` block that turns expected failures into one line, and module-level
constants that only feed an option default (``UCI_URL``). Everything else is the lesson:
reading and splitting the data, training, the MLflow calls, printing what was recorded,
and the comments among them. tests/test_examples.py holds every lesson script to
``MINIMUM``.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

if __name__ == "__main__":  # run as a file: harness.py sits one folder up, in tests/
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import EXAMPLES, LAUNCHERS  # noqa: E402 (launchers start services: not lessons in this sense)

MINIMUM = 0.60

OPTION_CONSTANTS = {"UCI_URL"}


def lesson_scripts() -> list[Path]:
    scripts = [path for path in EXAMPLES.glob("*/*.py") if not path.name.startswith("_")]
    scripts += [path for path in EXAMPLES.glob("*/*/*.py") if not path.name.startswith("_")]
    return sorted(path for path in scripts if path.relative_to(EXAMPLES).as_posix() not in LAUNCHERS)


def _span(node: ast.AST) -> set[int]:
    start = min([node.lineno] + [decorator.lineno for decorator in getattr(node, "decorator_list", [])])
    return set(range(start, node.end_lineno + 1))


PARSER_WORDS = ("ArgumentParser", "add_argument", "parse_args", "add_mutually_exclusive_group", "add_subparsers")


def _is_option_parsing(statement: ast.stmt) -> bool:
    """A statement that builds the parser, adds an option or parses the command line."""
    for node in ast.walk(statement):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in PARSER_WORDS:
                return True
    return False


def _type_functions(tree: ast.Module) -> set[str]:
    """Functions named as an option's ``type=`` (argparse validators), or called to make one."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
            for keyword in node.keywords:
                value = keyword.value.func if isinstance(keyword.value, ast.Call) else keyword.value
                if keyword.arg == "type" and isinstance(value, ast.Name):
                    names.add(value.id)
    return names


def measure(path: Path) -> tuple[int, int]:
    """``(lesson lines, counted lines)`` of one script."""
    source = path.read_text()
    tree = ast.parse(source)
    lines = source.splitlines()
    excluded: set[int] = {number for number, text in enumerate(lines, 1) if not text.strip()}
    plumbing: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            excluded |= _span(node)
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant):
                if isinstance(first.value.value, str):
                    excluded |= _span(first)
    validators = _type_functions(tree)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in validators:
            plumbing |= _span(node)
        elif isinstance(node, ast.FunctionDef):
            parsing = [statement for statement in node.body if _is_option_parsing(statement)]
            for statement in parsing:
                plumbing |= _span(statement)
            code = [s for s in node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
            if parsing and len(parsing) == len(code):
                plumbing |= _span(node)  # a function that only parses options, its comments included
        elif isinstance(node, ast.If) and "__name__" in ast.unparse(node.test):
            plumbing |= _span(node)
        elif isinstance(node, ast.Assign) and any(getattr(t, "id", "") in OPTION_CONSTANTS for t in node.targets):
            plumbing |= _span(node)
    counted = set(range(1, len(lines) + 1)) - excluded
    return len(counted - plumbing), len(counted)


def table() -> list[tuple[str, int, int, float]]:
    rows = []
    for path in lesson_scripts():
        lesson, counted = measure(path)
        rows.append((path.relative_to(EXAMPLES).as_posix(), lesson, counted, lesson / counted if counted else 1.0))
    return rows


def main() -> int:
    rows = table()
    print("| script | lesson lines | counted lines | lesson share |")
    print("| --- | ---: | ---: | ---: |")
    for name, lesson, counted, share in rows:
        flag = "" if share >= MINIMUM else " **below**"
        print(f"| `{name}` | {lesson} | {counted} | {share:.0%}{flag} |")
    lesson, counted = sum(row[1] for row in rows), sum(row[2] for row in rows)
    print(f"| all {len(rows)} scripts | {lesson} | {counted} | {lesson / counted:.0%} |")
    return 0 if all(row[3] >= MINIMUM for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
