"""A recursive-descent parser for DynamoDB's expression languages (condition, filter, key condition, projection,
update), resolving #names and :values as it goes and raising DynamoDB's ValidationException messages.

One `Expressions` object serves one request: it parses each expression the request carries, records which names
and values were used, and `finish()` rejects unused ones as DynamoDB does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationError
from ..values import compare, render_typed, type_of
from .nodes import Action, And, Arithmetic, Between, Call, Compare, In, Literal, Not, Or, Path
from .reserved import RESERVED_WORDS

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


class _Parser:
    def __init__(self, owner: Expressions, text: str, label: str) -> None:
        self.owner = owner
        self.text = text
        self.label = label
        self.tokens = _tokenize(text)
        self.i = 0

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
        args: list[Any] = []
        if not self.is_op(")"):
            while True:
                args.append(self.operand(allowed if name in UPDATE_FUNCTIONS else {"size": 1}))
                if not self.is_op(","):
                    break
                self.advance()
        self.expect_op(")")
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
        left = self.conjunction()
        while self.is_keyword("OR"):
            self.advance()
            left = Or(left, self.conjunction())
        return left

    def conjunction(self) -> Any:
        left = self.negation()
        while self.is_keyword("AND"):
            self.advance()
            left = And(left, self.negation())
        return left

    def negation(self) -> Any:
        if self.is_keyword("NOT"):
            self.advance()
            return Not(self.negation())
        return self.predicate()

    def predicate(self) -> Any:
        if self.is_op("("):
            self.advance()
            inner = self.condition()
            self.expect_op(")")
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
                raise self.error(f'The "{clause}" section can only be used once in an update expression;')
            seen.add(clause)
            while True:
                actions.append(self.action(clause))
                if not self.is_op(","):
                    break
                self.advance()
        for i, first in enumerate(actions):
            for second in actions[i + 1 :]:
                if first.path.overlaps(second.path):
                    raise self.error(
                        "Two document paths overlap with each other; must remove or rewrite one of these paths; "
                        f"path one: {first.path.render()}, path two: {second.path.render()}"
                    )
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


class Expressions:
    """The expressions of one request, sharing its ExpressionAttributeNames and ExpressionAttributeValues.

    Parameters: `names` (``{"#n": "name"}``) and `values` (``{":v": value}``, already validated), each None when the
    request has none.
    """

    def __init__(self, names: dict[str, str] | None, values: dict[str, Any] | None) -> None:
        if names is not None and not names:
            raise ValidationError("ExpressionAttributeNames must not be empty")
        if values is not None and not values:
            raise ValidationError("ExpressionAttributeValues must not be empty")
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
            raise ValidationError(f"Invalid {label}: The expression can not be empty;")
        return _Parser(self, text, label)

    def condition(self, text: str | None, label: str = "ConditionExpression") -> Any:
        """A ConditionExpression, FilterExpression or KeyConditionExpression tree (None when `text` is None)."""
        if text is None:
            return None
        parser = self._parser(text, label)
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
        for i, first in enumerate(paths):
            for second in paths[i + 1 :]:
                if first.overlaps(second):
                    raise ValidationError(
                        "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or "
                        f"rewrite one of these paths; path one: {first.render()}, path two: {second.render()}"
                    )
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
                "Value provided in ExpressionAttributeNames unused in expressions: keys: {"
                + ", ".join(unused_names)
                + "}"
            )
        unused_values = sorted(set(self.values) - self.used_values)
        if unused_values:
            raise ValidationError(
                "Value provided in ExpressionAttributeValues unused in expressions: keys: {"
                + ", ".join(unused_values)
                + "}"
            )
