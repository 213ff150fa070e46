"""Do two code answers agree? The code-aware half of answer comparison (see :mod:`.answers`).

Two programs rarely match as text, so an answer is compared in two ways, cheapest first:

1. *Normalised source*: the code blocks of the answer (fenced ``` blocks, ``[PYTHON]``
   blocks, or the whole answer when it parses), parsed, with docstrings, comments,
   formatting and local names dropped (names become ``v0``, ``v1``… in order of first
   use). Equal normalised trees agree.
2. *Behaviour*: each answer's main function (the top-level ``def`` no other top-level
   function calls) runs on the literal arguments of every example call either answer makes
   to its own main function (``assert f([1, 2]) == …``, ``print(f("ab"))``). Answers agree
   when they return the same value (or raise the same exception type) on every such input
   and a value on at least one.

The behaviour check runs the code offline in a separate ``python -I -S`` process with a
time limit, CPU, memory and file-size limits, no environment, an empty working directory
and the socket module disabled; only literal arguments (``ast.literal_eval``) are passed.
It is a guard against accidents, not a security boundary: run it only where executing
model-written code is acceptable (the offline evaluation, or a cascade opted into it).
"""

from __future__ import annotations

import ast
import builtins
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field

_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)
_TAGGED = re.compile(r"\[PYTHON\](.*?)\[/PYTHON\]", re.DOTALL)
_TESTS = re.compile(r"\[TESTS\](.*?)\[/TESTS\]", re.DOTALL)
_LIST_LITERAL = re.compile(r"^\[\s*(['\"])(.*)\1\s*\]$", re.DOTALL)
_BUILTINS = frozenset(dir(builtins))


def unwrap(text: str) -> str:
    """The answer's text, with RouterBench's ``['…']`` wrapper and its escapes undone."""
    body = text.strip()
    literal = _LIST_LITERAL.match(body)
    if literal:
        try:
            value = ast.literal_eval(body)
            if isinstance(value, list) and value and isinstance(value[0], str):
                return str(value[0])
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            pass
        return literal.group(2).replace("\\n", "\n").replace("\\t", "\t")
    return body


def _parses(code: str) -> ast.Module | None:
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


def code_blocks(text: str | None) -> str | None:
    """The answer's Python code (its blocks that parse, joined), or None when it has none."""
    if not text:
        return None
    body = unwrap(text)
    blocks = _TAGGED.findall(body) + _TESTS.findall(body) + _FENCE.findall(body)
    if not blocks and "def " in body:
        blocks = [body]
    kept = [b for b in blocks if _parses(b) is not None]
    if not kept:
        return None
    return "\n\n".join(kept)


def main_function(tree: ast.Module) -> str | None:
    """The top-level function no other top-level function calls (the first such)."""
    defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    called = {
        n.func.id
        for d in defs
        for n in ast.walk(d)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id != d.name
    }
    for d in defs:
        if d.name not in called:
            return d.name
    return defs[0].name if defs else None


def example_inputs(code: str, name: str) -> list[str]:
    """Source of the literal argument lists of the calls to ``name`` outside its body."""
    tree = _parses(code)
    if tree is None:
        return []
    inputs: list[str] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for node in ast.walk(stmt):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id != name or node.keywords or not node.args:
                continue
            source = "(" + ", ".join(ast.unparse(a) for a in node.args) + ",)"
            try:
                ast.literal_eval(source)
            except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
                continue
            if source not in inputs:
                inputs.append(source)
    return inputs


class _Normaliser(ast.NodeTransformer):
    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def _name(self, name: str) -> str:
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:] or [ast.Pass()]
        node.body = body
        node.name = self._name(node.name)
        node.returns = None
        self.generic_visit(node)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self._name(node.arg)
        node.annotation = None
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in _BUILTINS:
            return node
        node.id = self._name(node.id)
        return node


def normalised_source(code: str) -> str | None:
    """The code's functions with docstrings, comments, layout and local names dropped."""
    tree = _parses(code)
    if tree is None:
        return None
    defs: list[ast.stmt] = [
        n for n in tree.body if isinstance(n, ast.FunctionDef | ast.Import | ast.ImportFrom)
    ]
    if not any(isinstance(d, ast.FunctionDef) for d in defs):
        return None
    module = _Normaliser().visit(ast.Module(body=defs, type_ignores=[]))
    return ast.dump(module, annotate_fields=False)


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom)


@dataclass
class CodeAnswer:
    """One answer's definitions (functions, classes, imports: its examples are not run),
    its main function and the inputs its examples call it with."""

    code: str
    function: str
    inputs: list[str] = field(default_factory=list)
    normalised: str | None = None


def code_answer(text: str | None) -> CodeAnswer | None:
    """The answer as code to compare, or None when it has no function to run."""
    code = code_blocks(text)
    if code is None:
        return None
    tree = _parses(code)
    name = main_function(tree) if tree is not None else None
    if tree is None or name is None:
        return None
    definitions: list[ast.stmt] = [n for n in tree.body if isinstance(n, _DEFINITIONS)]
    program = ast.unparse(ast.Module(body=definitions, type_ignores=[]))
    return CodeAnswer(program, name, example_inputs(code, name), normalised_source(code))


_RUNNER = r"""
import ast, json, resource, signal, sys, io, contextlib, socket
resource.setrlimit(resource.RLIMIT_CPU, (20, 20))
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
def _no_network(*a, **k):
    raise OSError("network disabled")
socket.socket = _no_network
socket.create_connection = _no_network
job = json.loads(sys.stdin.read())
def _alarm(*_):
    raise TimeoutError("time limit")
signal.signal(signal.SIGALRM, _alarm)
def _quiet():
    stack = contextlib.ExitStack()
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
    return stack
results = []
for code, name in job["programs"]:
    row = []
    space = {"__name__": "candidate"}
    try:
        signal.setitimer(signal.ITIMER_REAL, job["per_call"])
        with _quiet():
            exec(compile(code, "<answer>", "exec"), space)
        signal.setitimer(signal.ITIMER_REAL, 0)
        fn = space[name]
    except BaseException as exc:
        signal.setitimer(signal.ITIMER_REAL, 0)
        results.append(None)
        continue
    for args in job["inputs"]:
        try:
            signal.setitimer(signal.ITIMER_REAL, job["per_call"])
            with _quiet():
                value = fn(*ast.literal_eval(args))
            signal.setitimer(signal.ITIMER_REAL, 0)
            out = "=" + repr(value)[:2000]
        except BaseException as exc:
            signal.setitimer(signal.ITIMER_REAL, 0)
            out = "!" + type(exc).__name__
        row.append(out)
    results.append(row)
sys.stdout.write(json.dumps(results))
"""


def run_programs(
    programs: Sequence[CodeAnswer], inputs: Sequence[str], per_call: float = 1.0
) -> list[list[str] | None]:
    """Each program's outcome on each input (``=repr`` or ``!ExceptionType``; None when the
    program itself did not load), run offline in one limited child process (see module)."""
    if not programs or not inputs:
        return [None for _ in programs]
    job = {
        "programs": [(p.code, p.function) for p in programs],
        "inputs": list(inputs),
        "per_call": per_call,
    }
    limit = 5.0 + per_call * len(programs) * (len(inputs) + 1)
    with tempfile.TemporaryDirectory() as empty:
        try:
            done = subprocess.run(
                [sys.executable, "-I", "-S", "-c", _RUNNER],
                input=json.dumps(job),
                capture_output=True,
                text=True,
                timeout=limit,
                cwd=empty,
                env={},
                check=False,
            )
            parsed = json.loads(done.stdout)
        except (subprocess.TimeoutExpired, ValueError, OSError):
            return [None for _ in programs]
    if not isinstance(parsed, list) or len(parsed) != len(programs):
        return [None for _ in programs]
    return [row if isinstance(row, list) else None for row in parsed]


def same_behaviour(first: Sequence[str] | None, second: Sequence[str] | None) -> bool:
    """Equal outcomes on every input, with a returned value on at least one."""
    if first is None or second is None or len(first) != len(second):
        return False
    return list(first) == list(second) and any(o.startswith("=") for o in first)


def code_agree(first: str | None, second: str | None, per_call: float = 1.0) -> bool:
    """Whether two code answers agree (equal normalised source, or equal behaviour on the
    inputs of both answers' examples; see the module)."""
    a, b = code_answer(first), code_answer(second)
    if a is None or b is None:
        return False
    if a.normalised is not None and a.normalised == b.normalised:
        return True
    inputs = list(dict.fromkeys(a.inputs + b.inputs))
    outcomes = run_programs([a, b], inputs, per_call)
    return same_behaviour(outcomes[0], outcomes[1])
