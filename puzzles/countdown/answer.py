"""Countdown answers as text: the step form, one infix expression, and conversion between them.

Step form: `a op b=c` steps joined by commas (or newlines), e.g. `44-15=29,79-29=50`.
Infix form: one expression over + - * / and parentheses, e.g. `79-(44-15)`; it is read
into a tree and turned into steps in post-order (left operand, right operand, node).
A bare number is an infix answer with no step (the tv target may be one of the cards).
Numbers are ASCII digits (leading zeros allowed); see `_text` for the Unicode policy.

Parsing is a hand tokenizer plus a depth-bounded recursive descent: nothing is ever
passed to `eval`, `sympify` or `parse_expr`. Bounds keep hostile text cheap: at most
`MAX_ANSWER_CHARS` characters, `MAX_DIGITS` digits per number, `MAX_DEPTH` nested
parentheses, `MAX_STEPS` steps (or operators in an expression). Every rejection is a
`ParseError` with the 1-based column at fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from puzzles.errors import ParseError

from ._text import ASCII_DIGITS, ASCII_SPACE, OPERATOR_ALIASES, bad_char, read_int

OPS = "+-*/"
MAX_ANSWER_CHARS = 2000
MAX_DIGITS = 20  # every value of a valid instance has at most 19 (1001**6 < 10**19)
MAX_DEPTH = 50
MAX_STEPS = 64  # a valid answer has at most 5; this keeps trees shallow and work small


@dataclass(frozen=True)
class Step:
    """One arithmetic step `a op b = result`, as written (the claimed result may be wrong)."""

    a: int
    op: str
    b: int
    result: int

    def __str__(self) -> str:
        return f"{self.a}{self.op}{self.b}={self.result}"


def apply_op(a: int, op: str, b: int) -> int | None:
    """`a op b` exactly, or None when it is not an integer (division by zero or inexact)."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0 or a % b:
        return None
    return a // b


def format_steps(steps: list[Step]) -> str:
    """The step form, `44-15=29,79-29=50`."""
    return ",".join(map(str, steps))


# ---------------------------------------------------------------- expression trees


@dataclass(frozen=True)
class Node:
    """An infix expression tree node; a leaf is a plain int."""

    op: str
    left: Node | int
    right: Node | int


_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def tree_to_infix(tree: Node | int) -> str:
    """Infix text with exactly the parentheses that keep the tree's shape when read back."""
    if isinstance(tree, int):
        return str(tree)
    prec = _PRECEDENCE[tree.op]
    left, right = tree_to_infix(tree.left), tree_to_infix(tree.right)
    if isinstance(tree.left, Node) and _PRECEDENCE[tree.left.op] < prec:
        left = f"({left})"
    if isinstance(tree.right, Node) and _PRECEDENCE[tree.right.op] <= prec:
        right = f"({right})"
    return f"{left}{tree.op}{right}"


def tree_to_steps(tree: Node | int) -> list[Step]:
    """The tree's steps in post-order; an inexact division keeps its floor quotient (0
    for division by zero) as a placeholder result, which the verifier rejects at that step."""
    steps: list[Step] = []

    def walk(node: Node | int) -> int:
        if isinstance(node, int):
            return node
        a, b = walk(node.left), walk(node.right)
        value = apply_op(a, node.op, b)
        if value is None:
            value = a // b if b else 0
        steps.append(Step(a, node.op, b, value))
        return value

    walk(tree)
    return steps


def steps_to_tree(steps: list[Step]) -> Node | int:
    """The expression tree of the last step.

    Steps name values, not which earlier result they use, so with equal values several
    trees fit. First choice: read the steps as post-order (as `tree_to_steps` writes
    them), each operand being either the latest unused result(s) or a number, such that
    every result but the last is used; `tree_to_steps` of that tree gives back `steps`.
    When no such reading exists (steps in another order, or tv results left unused), an
    operand is the latest unused result with its value, else a number.
    """
    if not steps:
        raise ValueError("no steps")
    if len(steps) <= MAX_STEPS:
        tree = _post_order_tree(steps)
        if tree is not None:
            return tree
    open_results: list[tuple[int, Node]] = []  # (value, tree), in step order

    def take(value: int) -> Node | int:
        for i in range(len(open_results) - 1, -1, -1):
            if open_results[i][0] == value:
                return open_results.pop(i)[1]
        return value

    for step in steps:
        b = take(step.b)
        a = take(step.a)
        open_results.append((step.result, Node(step.op, a, b)))
    return open_results[-1][1]


# (operand a from the stack, operand b from the stack): most results used first; with a
# tie, a result on the left, which prints without parentheses ((1+1)+2 as 1+1+2).
_READINGS = ((True, True), (True, False), (False, True), (False, False))


def _post_order_tree(steps: list[Step], budget: int = 4096) -> Node | None:
    """Depth-first search for a post-order reading of `steps` that uses every result but
    the last (a stack of unused results, as in reverse Polish notation); None if there is
    none or the search exceeds `budget` nodes."""
    nodes = 0

    def search(index: int, stack: tuple[tuple[int, Node], ...]) -> Node | None:
        nonlocal nodes
        if index == len(steps):
            return stack[0][1] if len(stack) == 1 else None
        nodes += 1
        if nodes > budget:
            return None
        step = steps[index]
        for from_a, from_b in _READINGS:
            used = from_a + from_b
            if len(stack) < used:
                continue
            if from_b and stack[-1][0] != step.b or from_a and stack[-used][0] != step.a:
                continue
            a = stack[-used][1] if from_a else step.a
            b = stack[-1][1] if from_b else step.b
            found = search(index + 1, stack[: len(stack) - used] + ((step.result, Node(step.op, a, b)),))
            if found is not None:
                return found
        return None

    return search(0, ())


def steps_to_infix(steps: list[Step]) -> str:
    """The last step's expression as infix text, e.g. `79-(44-15)`."""
    return tree_to_infix(steps_to_tree(steps))


# ---------------------------------------------------------------- parsing


class _Token(NamedTuple):
    kind: str  # "num", "op", "=", "(", ")", ","
    text: str
    column: int  # 1-based


def _tokenize(text: str, line: int | None) -> list[_Token]:
    tokens: list[_Token] = []
    depth = 0
    i, n = 0, len(text)
    while i < n:
        ch = OPERATOR_ALIASES.get(text[i], text[i])
        column = i + 1
        if ch in ASCII_DIGITS:
            j = i
            while j < n and text[j] in ASCII_DIGITS:
                j += 1
            if j - i > MAX_DIGITS:
                raise ParseError(
                    f"number with {j - i} digits: at most {MAX_DIGITS} are allowed", line=line, column=column
                )
            tokens.append(_Token("num", text[i:j], column))
            i = j
            continue
        if ch in ASCII_SPACE:
            if ch == "\n" and tokens and tokens[-1].kind != ",":  # a line break ends a step
                tokens.append(_Token(",", ch, column))
        elif ch in OPS:
            tokens.append(_Token("op", ch, column))
        elif ch == ",":
            if tokens and tokens[-1].text == "\n":
                tokens.pop()  # "step\n,step": the comma and the line break are one separator
            tokens.append(_Token(ch, ch, column))
        elif ch == "=":
            tokens.append(_Token(ch, ch, column))
        elif ch in "()":
            depth += 1 if ch == "(" else -1
            if depth > MAX_DEPTH:
                raise ParseError(f"parentheses nested deeper than {MAX_DEPTH}", line=line, column=column)
            tokens.append(_Token(ch, ch, column))
        else:
            raise bad_char(ch, line=line, column=column, expected="a digit, + - * /, =, parentheses or a comma")
        i += 1
    return tokens


def _describe(token: _Token | None) -> str:
    if token is None:
        return "the end of the answer"
    return "a line break" if token.text == "\n" else repr(token.text)


class _Reader:
    """A cursor over tokens with errors that name the column at fault."""

    def __init__(self, tokens: list[_Token], line: int | None, end_column: int):
        self.tokens, self.line, self.end_column = tokens, line, end_column
        self.pos = 0

    def _error(self, message: str) -> ParseError:
        token = self.tokens[self.pos] if self.pos < len(self.tokens) else None
        column = token.column if token else self.end_column
        return ParseError(f"{message}, found {_describe(token)}", line=self.line, column=column)

    def _peek(self, kind: str, texts: str | None = None) -> bool:
        """Whether the next token is of `kind` (and its text one of the characters in `texts`)."""
        if self.pos >= len(self.tokens):
            return False
        token = self.tokens[self.pos]
        return token.kind == kind and (texts is None or token.text in texts)


class _StepReader(_Reader):
    """Step form: `[-]int op [-]int = [-]int`, steps separated by commas or newlines."""

    def _number(self, what: str) -> int:
        negative = self._peek("op", "-")
        if negative:
            self.pos += 1
        if not self._peek("num"):
            raise self._error(f"expected {what}")
        token = self.tokens[self.pos]
        self.pos += 1
        value = read_int(token.text, line=self.line, column=token.column, signed=False, max_digits=MAX_DIGITS)
        return -value if negative else value

    def read(self) -> list[Step]:
        steps = []
        while True:
            a = self._number(f"the first number of step {len(steps) + 1}")
            if not self._peek("op"):
                raise self._error(f"expected an operator + - * / in step {len(steps) + 1}")
            op = self.tokens[self.pos].text
            self.pos += 1
            b = self._number(f"the second number of step {len(steps) + 1}")
            if not self._peek("="):
                raise self._error(f"expected '=' in step {len(steps) + 1}")
            self.pos += 1
            result = self._number(f"the result of step {len(steps) + 1}")
            steps.append(Step(a, op, b, result))
            if self.pos == len(self.tokens):
                return steps
            if not self._peek(","):
                raise self._error(f"expected a comma after step {len(steps)}")
            self.pos += 1


class _InfixReader(_Reader):
    """expr := term (('+'|'-') term)* ; term := factor (('*'|'/') factor)* ;
    factor := int | '(' expr ')'. No unary minus: every number in an answer is positive."""

    def read(self) -> Node | int:
        tree = self._expr()
        if self.pos != len(self.tokens):
            raise self._error("expected an operator or the end of the expression")
        return tree

    def _expr(self) -> Node | int:
        node = self._term()
        while self._peek("op", "+-"):
            op = self.tokens[self.pos].text
            self.pos += 1
            node = Node(op, node, self._term())
        return node

    def _term(self) -> Node | int:
        node = self._factor()
        while self._peek("op", "*/"):
            op = self.tokens[self.pos].text
            self.pos += 1
            node = Node(op, node, self._factor())
        return node

    def _factor(self) -> Node | int:
        if self._peek("num"):
            token = self.tokens[self.pos]
            self.pos += 1
            return int(token.text)
        if self._peek("(", "("):
            self.pos += 1
            node = self._expr()  # depth is bounded by the tokenizer
            if not self._peek(")", ")"):
                raise self._error("expected ')'")
            self.pos += 1
            return node
        if self._peek("op", "-"):
            raise self._error("expected a number or '(' (there is no unary minus)")
        raise self._error("expected a number or '('")


class ParsedAnswer(NamedTuple):
    """What an answer text says: its steps, and its value when it is a bare number."""

    steps: list[Step]
    form: str  # "steps" | "infix"
    bare: int | None  # the number, for an infix answer that is just a number


def read_answer(text: str, *, line: int | None = None) -> ParsedAnswer:
    """Parse an answer in step or infix form (a `=` anywhere means step form)."""
    if not isinstance(text, str):
        raise ParseError(f"expected text, got {type(text).__name__}", line=line)
    if len(text) > MAX_ANSWER_CHARS:
        raise ParseError(f"answer is {len(text)} characters long, the limit is {MAX_ANSWER_CHARS}", line=line)
    tokens = _tokenize(text, line)
    if tokens and tokens[-1].text == "\n":
        tokens.pop()  # a trailing line break ends the answer, it is not an empty step
    if not tokens:
        raise ParseError("empty answer", line=line, column=1)
    end = len(text.rstrip(ASCII_SPACE)) + 1
    if any(t.kind == "=" for t in tokens):
        steps = _StepReader(tokens, line, end).read()
        if len(steps) > MAX_STEPS:
            raise ParseError(f"{len(steps)} steps in one answer, at most {MAX_STEPS} are allowed", line=line)
        return ParsedAnswer(steps, "steps", None)
    for token in tokens:
        if token.kind == ",":
            raise ParseError(
                "a comma separates steps, but there is no '=' (write steps as a op b=c)", line=line, column=token.column
            )
    operators = [t for t in tokens if t.kind == "op"]
    if len(operators) > MAX_STEPS:
        raise ParseError(
            f"{len(operators)} operators in one expression, at most {MAX_STEPS} are allowed",
            line=line,
            column=operators[MAX_STEPS].column,
        )
    tree = _InfixReader(tokens, line, end).read()
    return ParsedAnswer(tree_to_steps(tree), "infix", tree if isinstance(tree, int) else None)


def parse_answer(text: str, *, line: int | None = None) -> list[Step]:
    """The steps of an answer in step form (`44-15=29,79-29=50`) or infix (`79-(44-15)`).

    A bare number parses to no steps (`read_answer` keeps its value). Raises `ParseError`.
    """
    return read_answer(text, line=line).steps
