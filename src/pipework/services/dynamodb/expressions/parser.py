"""A recursive-descent parser for DynamoDB's expression languages (condition, filter, key condition, projection,
update), resolving #names and :values as it goes and raising DynamoDB's ValidationException messages.

One `Expressions` object serves one request: it parses each expression the request carries, records which names
and values were used, and `finish()` rejects unused ones as DynamoDB does.

Work per request is bounded: an expression is at most 4 KB (DynamoDB's limit), parsing is linear in its length, and
parentheses and function calls nest at most `MAX_NESTING` deep, so neither parsing nor evaluating recurses without
bound (``a AND b AND ...`` is one n-ary node, and ``NOT NOT x`` is ``x``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationError
from ..values import compare, render_typed, type_of
from .nodes import Action, And, Arithmetic, Between, Call, Compare, In, Literal, Not, Or, Path
from .reserved import RESERVED_WORDS

MAX_EXPRESSION_BYTES = 4096
MAX_NESTING = 100
DETECTED = "1 validation error detected: "
_NAME_KEY = re.compile(r"#[A-Za-z0-9_]+")
_VALUE_KEY = re.compile(r":[A-Za-z0-9_]+")
_BOOLEAN_WORDS = ("AND", "OR", "NOT")

_TOKEN = re.compile(
    r"\s*(?:(?P<name>#[A-Za-z0-9_]+)|(?P<value>:[A-Za-z0-9_]+)|(?P<ident>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<number>[0-9]+)|(?P<op><>|<=|>=|[=<>(),.\[\]+\-])|(?P<bad>\S))"
)

CONDITION_FUNCTIONS = {
    "attribute_exists": 1,
    "attribute_not_exists": 1,
    "attribute_type": 2,
    "begins_with": 2,
    "contains": 2,
    "size": 1,
}
UPDATE_FUNCTIONS = {"if_not_exists": 2, "list_append": 2}
ATTRIBUTE_TYPES = ("S", "SS", "N", "NS", "B", "BS", "BOOL", "NULL", "L", "M")
_CLAUSES = ("SET", "REMOVE", "ADD", "DELETE")
_COMPARATORS = ("=", "<>", "<", "<=", ">", ">=")
_TYPE_NAMES = {
    "S": "STRING",
    "N": "NUMBER",
    "B": "BINARY",
    "BOOL": "BOOLEAN",
    "NULL": "NULL",
    "M": "MAP",
    "L": "LIST",
}


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # name, value, ident, number, op, bad, eof
    text: str
    start: int
    end: int


def _tokenize(text: str) -> list[Token]:
    tokens = []
    position = 0
    while True:
        found = _TOKEN.match(text, position)
        if found is None or found.lastgroup is None:
            break
        kind = found.lastgroup
        tokens.append(Token(kind, found.group(kind), found.start(kind), found.end(kind)))
        position = found.end()
    tokens.append(Token("eof", "<EOF>", len(text), len(text)))
    return tokens


def _redundant_parentheses(tokens: list[Token]) -> bool:
    """Whether a pair of grouping parentheses directly wraps another, ``((a = :v))``: DynamoDB rejects that."""
    open_at: list[tuple[int, bool]] = []
    closes: dict[int, int] = {}
    for i, token in enumerate(tokens):
        if token.kind != "op":
            continue
        if token.text == "(":
            before = tokens[i - 1] if i else None
            # After a function name (or IN) a parenthesis opens arguments, not a group.
            grouping = before is None or before.kind != "ident" or before.text.upper() in _BOOLEAN_WORDS
            open_at.append((i, grouping))
        elif token.text == ")" and open_at:
            start, grouping = open_at.pop()
            if grouping:
                closes[start] = i
    return any(closes.get(start + 1) == end - 1 for start, end in closes.items())


def first_overlap(paths: list[Path]) -> tuple[Path, Path] | None:
    """The first pair of paths (earlier, later) where one is a prefix of (or equal to) the other; linear, by a trie."""
    root: dict[Any, Any] = {}
    for path in paths:
        node = root
        for element in path.elements:
            if _ENDS in node:
                return node[_ENDS], path
            node = node.setdefault(element, {})
            node.setdefault(_FIRST, path)
        if _ENDS in node:
            return node[_ENDS], path
        if node[_FIRST] is not path:  # an earlier path runs through (or past) this one's end
            return node[_FIRST], path
        node[_ENDS] = path
    return None


_ENDS = object()  # trie key: a path ends at this node
_FIRST = object()  # trie key: the first path through this node


class _Parser:
    def __init__(self, owner: Expressions, text: str, label: str) -> None:
        self.owner = owner
        self.text = text
        self.label = label
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0

    # ── tokens ──

    @property
    def token(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        if token.kind == "bad":
            raise self.syntax_error()
        self.i += 1
        return token

    def is_op(self, *ops: str) -> bool:
        return self.token.kind == "op" and self.token.text in ops

    def is_keyword(self, *words: str) -> bool:
        return self.token.kind == "ident" and self.token.text.upper() in words

    def expect_op(self, op: str) -> None:
        if not self.is_op(op):
            raise self.syntax_error()
        self.advance()

    def error(self, message: str) -> ValidationError:
        return ValidationError(f"Invalid {self.label}: {message}")

    def enter(self) -> None:
        """One level deeper into parentheses or a function's arguments (left again by ``self.depth -= 1``)."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"The expression is nested too deeply; maximum nesting levels: {MAX_NESTING}")

    def syntax_error(self) -> ValidationError:
        token = self.token
        near_start = self.tokens[max(self.i - 1, 0)].start
        following = self.tokens[min(self.i + 1, len(self.tokens) - 1)]
        near_end = following.end if following.kind != "eof" else token.end
        near = self.text[near_start:near_end]
        return self.error(f'Syntax error; token: "{token.text}", near: "{near}"')

    def at_end(self) -> None:
        if self.token.kind != "eof":
            raise self.syntax_error()

    # ── paths and operands ──

    def path(self) -> Path:
        elements: list[str | int] = [self.path_name()]
        while True:
            if self.is_op("."):
                self.advance()
                elements.append(self.path_name())
            elif self.is_op("["):
                self.advance()
                if self.token.kind != "number":
                    raise self.syntax_error()
                index = int(self.advance().text)
                self.expect_op("]")
                elements.append(index)
            else:
                return Path(tuple(elements))

    def path_name(self) -> str:
        token = self.token
        if token.kind == "name":
            self.advance()
            return self.owner.name(token.text, self.label)
        if token.kind == "ident":
            if token.text.upper() in RESERVED_WORDS:
                raise self.error(f"Attribute name is a reserved keyword; reserved keyword: {token.text}")
            self.advance()
            return token.text
        raise self.syntax_error()

    def literal(self) -> Literal:
        token = self.advance()
        return Literal(token.text, self.owner.value(token.text, self.label))

    def operand(self, functions: dict[str, int]) -> Any:
        """A path, a :value, or a function call allowed in this position."""
        token = self.token
        if token.kind == "value":
            return self.literal()
        if (
            token.kind == "ident"
            and self.tokens[self.i + 1].kind == "op"
            and self.tokens[self.i + 1].text == "("
        ):
            return self.call(functions, as_operand=True)
        if token.kind in ("name", "ident"):
            return self.path()
        raise self.syntax_error()

    def call(self, allowed: dict[str, int], *, as_operand: bool) -> Call:
        name = self.advance().text
        known = {**CONDITION_FUNCTIONS, **UPDATE_FUNCTIONS}
        if name not in known:
            raise self.error(f"Invalid function name; function: {name}")
        if name not in allowed:
            raise self.error(
                f"The function is not allowed to be used this way in an expression; function: {name}"
            )
        self.expect_op("(")
        self.enter()
        args: list[Any] = []
        if not self.is_op(")"):
            while True:
                args.append(self.operand(allowed if name in UPDATE_FUNCTIONS else {"size": 1}))
                if not self.is_op(","):
                    break
                self.advance()
        self.expect_op(")")
        self.depth -= 1
        if len(args) != allowed[name]:
            raise self.error(
                f"Incorrect number of operands for operator or function; operator or function: {name}, "
                f"number of operands: {len(args)}"
            )
        self._check_call(name, args, as_operand)
        return Call(name, tuple(args))

    def _check_call(self, name: str, args: list[Any], as_operand: bool) -> None:
        if name in (
            "attribute_exists",
            "attribute_not_exists",
            "attribute_type",
            "if_not_exists",
        ) and not isinstance(args[0], Path):
            raise self.error(f"Operator or function requires a document path; operator or function: {name}")
        if name == "size":
            if not as_operand:
                raise self.error(
                    f"The function is not allowed to be used this way in an expression; function: {name}"
                )
            if isinstance(args[0], Literal):
                self._operand_type(name, args[0], ("S", "B", "SS", "NS", "BS", "M", "L"))
        elif as_operand and name in CONDITION_FUNCTIONS:
            raise self.error(
                f"The function is not allowed to be used this way in an expression; function: {name}"
            )
        if name == "attribute_type":
            if not isinstance(args[1], Literal):
                raise self.error(
                    "Incorrect operand type for operator or function; operator or function: attribute_type, "
                    "operand type: path"
                )
            wanted = args[1].value
            if type_of(wanted) != "S" or wanted["S"] not in ATTRIBUTE_TYPES:
                shown = wanted.get("S", render_typed(wanted))
                raise self.error(
                    f"Invalid attribute type name found; type: {shown}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}"
                )
        if name == "begins_with":
            for arg in args:
                if isinstance(arg, Literal):
                    self._operand_type(name, arg, ("S", "B"))
        if name == "list_append":
            for arg in args:
                if isinstance(arg, Literal):
                    self._operand_type(name, arg, ("L",))

    def _operand_type(self, name: str, literal: Literal, allowed: tuple[str, ...]) -> None:
        kind = type_of(literal.value)
        if kind not in allowed:
            raise self.error(
                f"Incorrect operand type for operator or function; operator or function: {name}, operand type: {kind}"
            )

    # ── conditions ──

    def condition(self) -> Any:
        operands = [self.conjunction()]
        while self.is_keyword("OR"):
            self.advance()
            operands.append(self.conjunction())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def conjunction(self) -> Any:
        operands = [self.negation()]
        while self.is_keyword("AND"):
            self.advance()
            operands.append(self.negation())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def negation(self) -> Any:
        negated = False
        while self.is_keyword("NOT"):
            self.advance()
            negated = not negated
        inner = self.predicate()
        return Not(inner) if negated else inner

    def predicate(self) -> Any:
        if self.is_op("("):
            self.advance()
            self.enter()
            inner = self.condition()
            self.expect_op(")")
            self.depth -= 1
            return inner
        token = self.token
        if (
            token.kind == "ident"
            and token.text in CONDITION_FUNCTIONS
            and self.tokens[self.i + 1].text == "("
        ) and token.text != "size":
            return self.call(CONDITION_FUNCTIONS, as_operand=False)
        left = self.operand({"size": 1})
        if self.is_op(*_COMPARATORS):
            op = self.advance().text
            right = self.operand({"size": 1})
            return Compare(op, left, right)
        if self.is_keyword("BETWEEN"):
            self.advance()
            low = self.operand({"size": 1})
            if not self.is_keyword("AND"):
                raise self.syntax_error()
            self.advance()
            high = self.operand({"size": 1})
            self._check_between(low, high)
            return Between(left, low, high)
        if self.is_keyword("IN"):
            self.advance()
            self.expect_op("(")
            candidates = [self.operand({"size": 1})]
            while self.is_op(","):
                self.advance()
                candidates.append(self.operand({"size": 1}))
            self.expect_op(")")
            if len(candidates) > 100:
                raise self.error(
                    "The IN operator is provided with too many operands; number of operands: "
                    + str(len(candidates))
                )
            return In(left, tuple(candidates))
        if isinstance(left, Call):
            raise self.error(
                f"The function is not allowed to be used this way in an expression; function: {left.name}"
            )
        raise self.syntax_error()

    def _check_between(self, low: Any, high: Any) -> None:
        if not (isinstance(low, Literal) and isinstance(high, Literal)):
            return
        a, b = low.value, high.value
        if type_of(a) != type_of(b):
            raise self.error(
                "The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: "
                f"AttributeValue: {render_typed(a)}, upper bound operand: AttributeValue: {render_typed(b)}"
            )
        order = compare(a, b)
        if order is not None and order > 0:
            raise self.error(
                "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound "
                f"operand: AttributeValue: {render_typed(a)}, upper bound operand: AttributeValue: {render_typed(b)}"
            )

    # ── updates ──

    def update(self) -> list[Action]:
        actions: list[Action] = []
        seen: set[str] = set()
        if self.token.kind == "eof":
            raise self.syntax_error()
        while self.token.kind != "eof":
            if not self.is_keyword(*_CLAUSES):
                raise self.syntax_error()
            clause = self.advance().text.upper()
            if clause in seen:
                raise ValidationError(
                    f'{DETECTED}Invalid UpdateExpression: The "{clause}" section can only be used once in an update '
                    "expression;"
                )
            seen.add(clause)
            while True:
                actions.append(self.action(clause))
                if not self.is_op(","):
                    break
                self.advance()
        overlap = first_overlap([action.path for action in actions])
        if overlap is not None:
            raise _overlap_error("UpdateExpression", *overlap)
        return actions

    def action(self, clause: str) -> Action:
        path = self.path()
        if clause == "SET":
            self.expect_op("=")
            return Action("SET", path, self.set_value())
        if clause == "REMOVE":
            return Action("REMOVE", path)
        if self.token.kind != "value":
            raise self.syntax_error()
        literal = self.literal()
        kind = type_of(literal.value)
        allowed = ("N", "SS", "NS", "BS") if clause == "ADD" else ("SS", "NS", "BS")
        if kind not in allowed:
            raise self.error(
                f"Incorrect operand type for operator or function; operator: {clause}, "
                f"operand type: {_TYPE_NAMES.get(kind, kind)}"
            )
        return Action(clause, path, literal)

    def set_value(self) -> Any:
        left = self.operand(UPDATE_FUNCTIONS)
        if self.is_op("+", "-"):
            op = self.advance().text
            right = self.operand(UPDATE_FUNCTIONS)
            for side in (left, right):
                if isinstance(side, Literal) and type_of(side.value) != "N":
                    raise self.error(
                        f"Incorrect operand type for operator or function; operator or function: {op}, "
                        f"operand type: {_TYPE_NAMES.get(type_of(side.value), type_of(side.value))}"
                    )
            return Arithmetic(op, left, right)
        return left

    # ── projections ──

    def projection(self) -> list[Path]:
        paths = [self.path()]
        while self.is_op(","):
            self.advance()
            paths.append(self.path())
        return paths


def _overlap_error(label: str, first: Path, second: Path) -> ValidationError:
    return ValidationError(
        f"{DETECTED}Invalid {label}: Two document paths overlap with each other; must remove or rewrite one of these "
        f"paths; path one: {first.render()}, path two: {second.render()}"
    )


class Expressions:
    """The expressions of one request, sharing its ExpressionAttributeNames and ExpressionAttributeValues.

    Parameters: `names` (``{"#n": "name"}``) and `values` (``{":v": value}``, already validated), each None when the
    request has none; `detected`, the prefix DynamoDB puts on some of these messages in this operation
    (``"1 validation error detected: "`` in PutItem, UpdateItem and DeleteItem; none in reads and transactions).
    """

    def __init__(
        self, names: dict[str, str] | None, values: dict[str, Any] | None, *, detected: str = ""
    ) -> None:
        self.detected = detected
        if names is not None and not names:
            raise ValidationError(detected + "ExpressionAttributeNames must not be empty")
        if values is not None and not values:
            raise ValidationError(detected + "ExpressionAttributeValues must not be empty")
        for key in names or ():
            if not _NAME_KEY.fullmatch(key):
                raise ValidationError(
                    f'ExpressionAttributeNames contains invalid key: Syntax error; key: "{key}"'
                )
        for key in values or ():
            if not _VALUE_KEY.fullmatch(key):
                raise ValidationError(
                    f'ExpressionAttributeValues contains invalid key: Syntax error; key: "{key}"'
                )
        self.names = names or {}
        self.values = values or {}
        self.used_names: set[str] = set()
        self.used_values: set[str] = set()
        self.parsed_any = False

    def name(self, placeholder: str, label: str) -> str:
        if placeholder not in self.names:
            raise ValidationError(
                f"Invalid {label}: An expression attribute name used in the document path is not defined; "
                f"attribute name: {placeholder}"
            )
        self.used_names.add(placeholder)
        return self.names[placeholder]

    def value(self, placeholder: str, label: str) -> Any:
        if placeholder not in self.values:
            raise ValidationError(
                f"Invalid {label}: An expression attribute value used in expression is not defined; "
                f"attribute value: {placeholder}"
            )
        self.used_values.add(placeholder)
        return self.values[placeholder]

    def _parser(self, text: str, label: str) -> _Parser:
        self.parsed_any = True
        if not text.strip():
            prefix = DETECTED if label == "UpdateExpression" else ""
            raise ValidationError(f"{prefix}Invalid {label}: The expression can not be empty;")
        size = len(text.encode("utf-8", "surrogatepass"))
        if size > MAX_EXPRESSION_BYTES:
            raise ValidationError(
                f"Invalid {label}: Expression size has exceeded the maximum allowed size; expression size: {size}"
            )
        return _Parser(self, text, label)

    def condition(self, text: str | None, label: str = "ConditionExpression") -> Any:
        """A ConditionExpression, FilterExpression or KeyConditionExpression tree (None when `text` is None)."""
        if text is None:
            return None
        parser = self._parser(text, label)
        if _redundant_parentheses(parser.tokens):
            raise parser.error("The expression has redundant parentheses;")
        tree = parser.condition()
        parser.at_end()
        return tree

    def update(self, text: str) -> list[Action]:
        parser = self._parser(text, "UpdateExpression")
        return parser.update()

    def projection(self, text: str | None) -> list[Path] | None:
        if text is None:
            return None
        parser = self._parser(text, "ProjectionExpression")
        paths = parser.projection()
        parser.at_end()
        overlap = first_overlap(paths)
        if overlap is not None:
            raise _overlap_error("ProjectionExpression", *overlap)
        return paths

    def finish(self) -> None:
        """Reject names and values the request's expressions never used (DynamoDB does)."""
        if not self.parsed_any:
            if self.names:
                raise ValidationError("ExpressionAttributeNames can only be specified when using expressions")
            if self.values:
                raise ValidationError(
                    "ExpressionAttributeValues can only be specified when using expressions"
                )
        unused_names = sorted(set(self.names) - self.used_names)
        if unused_names:
            raise ValidationError(
                self.detected
                + "Value provided in ExpressionAttributeNames unused in expressions: keys: {"
                + ", ".join(unused_names)
                + "}"
            )
        unused_values = sorted(set(self.values) - self.used_values)
        if unused_values:
            raise ValidationError(
                self.detected
                + "Value provided in ExpressionAttributeValues unused in expressions: keys: {"
                + ", ".join(unused_values)
                + "}"
            )
