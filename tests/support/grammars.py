"""Hypothesis strategies for the string languages Pipework parses, near-valid by construction: each builds text
from its grammar's tokens (valid ones, and some that are not), and `mutated` breaks valid text further.

Event patterns, input templates (EventBridge InputTransformer and Pipes inline templates), JSONPaths, DynamoDB
expressions (condition, key condition, projection, update), schedule expressions (at/rate/cron, time zones) and
SQS queue attributes (RedrivePolicy and other JSON-valued ones). Each strategy is built once (cached): building
Hypothesis strategies costs far more than drawing from them.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from hypothesis import strategies as st

# ───────────────────────────────────────────────── shared pieces ─────────────────────────────────────────────────

WEIRD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\u0000",
        "\ud800",
        "\\",
        '"',
        "'",
        "<",
        ">",
        "{",
        "}",
        "[",
        "]",
        "$",
        "*",
        "..",
        "🐍",
        "\u202e",
        "%",
    ]
)
NAMES = st.one_of(
    st.sampled_from(
        ["a", "b", "detail", "source", "id", "x-y", "a.b", "0", "$or", "size", "AND", "NOT", "status"]
    ),
    st.text(min_size=0, max_size=6),
)
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    WEIRD_TEXT,
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(NAMES, children, max_size=3)),
    max_leaves=12,
)


def mutated(texts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """`texts`, sometimes broken: a character deleted, a token inserted, a slice doubled, or the end cut off."""

    def mutate(data: st.DataObject, text: str) -> str:
        if not text:
            return text
        at = data.draw(st.integers(0, len(text)))
        action = data.draw(st.sampled_from(["keep", "keep", "delete", "insert", "double", "truncate"]))
        if action == "delete":
            return text[:at] + text[at + 1 :]
        if action == "insert":
            token = data.draw(
                st.one_of(WEIRD_TEXT, st.sampled_from(["(", ")", ",", ":", "#", " AND ", "null"]))
            )
            return text[:at] + token + text[at:]
        if action == "double":
            return text[:at] + text[at:] + text[at:]
        if action == "truncate":
            return text[:at]
        return text

    return st.tuples(st.data(), texts).map(lambda pair: mutate(*pair))


def deeply_nested(open_: str, middle: str, close: str) -> st.SearchStrategy[str]:
    """`middle` wrapped `n` times, for `n` from shallow to far past any recursion limit."""
    return st.sampled_from([3, 100, 300, 1_000, 3_000]).map(lambda n: open_ * n + middle + close * n)


# ───────────────────────────────────────────────── event patterns ─────────────────────────────────────────────────

_NUMBERS = st.one_of(
    st.integers(-(10**12), 10**12), st.floats(allow_nan=False), st.sampled_from([5e9, -5e9, 1e308])
)
_NUMERIC_OPERANDS = st.lists(
    st.one_of(st.sampled_from(["<", "<=", "=", ">", ">=", "!=", "=>", ""]), _NUMBERS, JSON_SCALARS),
    max_size=5,
)
_CIDRS = st.sampled_from(
    ["10.0.0.0/8", "10.0.0.0/33", "1.2.3.4", "::1/128", "2001:db8::/200", "300.1.1.1/8", "/", "a/b", ""]
)
_STRING_MATCH = st.one_of(st.text(max_size=6), WEIRD_TEXT, JSON_SCALARS)


@functools.cache
def _matchers() -> st.SearchStrategy[Any]:
    inner = st.one_of(
        _STRING_MATCH,
        st.builds(dict, **{"equals-ignore-case": _STRING_MATCH}),
        st.lists(_STRING_MATCH, max_size=3),
    )
    return st.one_of(
        JSON_SCALARS,
        st.fixed_dictionaries({"prefix": inner}),
        st.fixed_dictionaries({"suffix": inner}),
        st.fixed_dictionaries({"equals-ignore-case": inner}),
        st.fixed_dictionaries({"wildcard": st.text(alphabet="ab*\\?", max_size=8)}),
        st.fixed_dictionaries(
            {
                "anything-but": st.one_of(
                    inner,
                    st.fixed_dictionaries({"prefix": inner}),
                    st.fixed_dictionaries({"suffix": inner}),
                    st.fixed_dictionaries({"wildcard": inner}),
                )
            }
        ),
        st.fixed_dictionaries({"numeric": _NUMERIC_OPERANDS}),
        st.fixed_dictionaries({"exists": st.one_of(st.booleans(), JSON_SCALARS)}),
        st.fixed_dictionaries({"cidr": st.one_of(_CIDRS, JSON_SCALARS)}),
        st.dictionaries(
            st.sampled_from(["prefix", "numeric", "bogus-operator", ""]), JSON_SCALARS, max_size=2
        ),
    )


@functools.cache
def _pattern_objects() -> st.SearchStrategy[dict[str, Any]]:
    values = st.one_of(st.lists(_matchers(), max_size=4), JSON_SCALARS)
    return st.recursive(
        st.dictionaries(NAMES, values, min_size=1, max_size=3),
        lambda children: st.one_of(
            st.dictionaries(NAMES, st.one_of(values, children), min_size=1, max_size=3),
            st.fixed_dictionaries({"$or": st.lists(children, max_size=3)}),
        ),
        max_leaves=8,
    )


@functools.cache
def _valid_pattern_objects() -> st.SearchStrategy[dict[str, Any]]:
    """Patterns EventBridge accepts, so that the matcher gets to run them."""
    words = st.text(alphabet="ab*.-\\ é", max_size=4)
    low = st.integers(-100, 100)
    matchers = st.one_of(
        words,
        st.integers(-5, 5),
        st.booleans(),
        st.none(),
        st.fixed_dictionaries({"prefix": words}),
        st.fixed_dictionaries({"suffix": words}),
        st.fixed_dictionaries({"equals-ignore-case": words}),
        st.fixed_dictionaries({"wildcard": st.text(alphabet="ab*", max_size=5)}),
        st.fixed_dictionaries({"anything-but": st.one_of(words, st.lists(words, min_size=1, max_size=3))}),
        st.fixed_dictionaries({"anything-but": st.fixed_dictionaries({"prefix": words})}),
        low.map(lambda n: {"numeric": [">", n, "<=", n + 10]}),
        st.fixed_dictionaries({"exists": st.booleans()}),
        st.fixed_dictionaries({"cidr": st.sampled_from(["10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32"])}),
    )
    fields = st.sampled_from(["a", "b", "c", "detail-type"])
    leaf = st.dictionaries(fields, st.lists(matchers, min_size=1, max_size=3), min_size=1, max_size=2)
    detail = st.recursive(
        leaf,
        lambda children: st.one_of(
            st.dictionaries(fields, children, min_size=1, max_size=2),
            st.lists(children, min_size=2, max_size=3).map(lambda options: {"$or": options}),
        ),
        max_leaves=4,
    )
    return st.fixed_dictionaries({"detail": detail}, optional={"source": st.just(["fuzz"])})


@functools.cache
def event_patterns() -> st.SearchStrategy[str]:
    """Event pattern text: valid, generated from the grammar with misuse, mutated, or nested past recursion
    limits."""
    return st.one_of(
        _valid_pattern_objects().map(json.dumps),
        _valid_pattern_objects().map(json.dumps),
        _pattern_objects().map(json.dumps),
        mutated(_pattern_objects().map(json.dumps)),
        deeply_nested('{"a":', '["x"]', "}"),
        deeply_nested('{"$or": [{"a":', '["x"]', "}]}"),
        st.sampled_from(["", "{}", "[]", "null", '{"a": []}', '{"a": ["\\ud800"]}', "{" * 10_000]),
    )


@functools.cache
def events(sources: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Events (the envelope TestEventPattern takes) with arbitrary detail."""
    return st.fixed_dictionaries(
        {
            "id": st.just("1"),
            "account": st.just("000000000000"),
            "source": sources or st.one_of(st.just("fuzz"), st.text(max_size=4)),
            "time": st.just("2026-12-02T10:00:00Z"),
            "region": st.just("us-east-1"),
            "detail-type": st.text(max_size=4),
            "resources": st.lists(st.text(max_size=4), max_size=2),
            "detail": st.one_of(JSON_VALUES, st.dictionaries(NAMES, JSON_VALUES, max_size=4)),
        }
    )


# ───────────────────────────────────────────────── JSONPaths ─────────────────────────────────────────────────

_SEGMENTS = st.one_of(
    NAMES.map(lambda n: "." + n),
    NAMES.map(lambda n: f"['{n}']"),
    NAMES.map(lambda n: f'["{n}"]'),
    st.integers(-3, 2**40).map(lambda i: f"[{i}]"),
    st.sampled_from(["[*]", ".*", "..", "..a", "[?(@.a)]", "[1:2]", "[", "]", "['", ".", "[0][0]", "[-0]"]),
)


@functools.cache
def json_paths() -> st.SearchStrategy[str]:
    """JSONPaths: ``$`` and segments (names, quoted names, indexes, wildcards, filters, slices), some broken."""
    paths = st.tuples(st.sampled_from(["$", "$", "$", "", "@", "$$"]), st.lists(_SEGMENTS, max_size=5)).map(
        lambda parts: parts[0] + "".join(parts[1])
    )
    return st.one_of(
        paths, mutated(paths), st.sampled_from(["$" + ".a" * 2_000, "$" + "[0]" * 2_000, "$.detail"])
    )


# ───────────────────────────────────────────────── templates ─────────────────────────────────────────────────

_PLACEHOLDER_NAMES = st.sampled_from(
    [
        "a",
        "b",
        "aws.events.event",
        "aws.events.event.json",
        "aws.events.rule-arn",
        "aws.events.rule-name",
        "aws.events.event.ingestion-time",
        "missing",
        "",
        "a b",
        "<",
        "$.a",
    ]
)


@functools.cache
def input_templates(placeholder: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Templates: JSON or plain text with `placeholder` texts (``<name>`` or ``<$.path>``) in and out of quotes."""
    pieces = st.one_of(
        placeholder,
        placeholder.map(lambda p: f'"{p}"'),
        placeholder.map(lambda p: f'"x {p} y"'),
        st.sampled_from(['{"k": ', "}", "[", "]", ", ", '"text"', "1", "null", "\\", '"', "<", ">", "\n"]),
        WEIRD_TEXT,
    )
    templates = st.lists(pieces, max_size=8).map("".join)
    wrapped = st.lists(st.tuples(NAMES, pieces), max_size=4).map(
        lambda pairs: "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in pairs) + "}"
    )
    return st.one_of(templates, wrapped, mutated(wrapped), deeply_nested('{"a": ', "<a>", "}"))


@functools.cache
def events_placeholders() -> st.SearchStrategy[str]:
    return _PLACEHOLDER_NAMES.map(lambda name: f"<{name}>")


@functools.cache
def pipes_placeholders() -> st.SearchStrategy[str]:
    return st.one_of(json_paths().map(lambda path: f"<{path}>"), _PLACEHOLDER_NAMES.map(lambda n: f"<{n}>"))


# ───────────────────────────────────────────────── DynamoDB expressions ─────────────────────────────────────────

_ATTRIBUTE_NAMES = st.sampled_from(
    ["pk", "sk", "data", "list", "a", "b", "status", "size", "AND", "1a", "a-b", "é"]
)
_NAME_PLACEHOLDERS = st.sampled_from(["#n", "#m", "#", "#1", "#n.x"])
_VALUE_PLACEHOLDERS = st.sampled_from([":v", ":w", ":s", ":l", ":", ":1", "v"])


@functools.cache
def _paths() -> st.SearchStrategy[str]:
    head = st.one_of(_ATTRIBUTE_NAMES, _NAME_PLACEHOLDERS)
    tail = st.lists(
        st.one_of(
            head.map(lambda n: "." + n),
            st.sampled_from(["[0]", "[1]", "[-1]", "[x]", "[99999999999]", "[", "."]),
        ),
        max_size=3,
    )
    return st.tuples(head, tail).map(lambda parts: parts[0] + "".join(parts[1]))


@functools.cache
def _operands() -> st.SearchStrategy[str]:
    return st.one_of(_paths(), _VALUE_PLACEHOLDERS, _paths().map(lambda p: f"size({p})"))


_COMPARATORS = st.sampled_from(["=", "<>", "<", "<=", ">", ">=", "==", "!=", "=<"])
_FUNCTIONS = st.sampled_from(
    ["attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains", "size", "nope"]
)


@functools.cache
def conditions() -> st.SearchStrategy[str]:
    """Condition / filter / key-condition expressions from DynamoDB's grammar, some of it misused."""
    atoms = st.one_of(
        st.tuples(_operands(), _COMPARATORS, _operands()).map(" ".join),
        st.tuples(_operands(), _operands(), _operands()).map(lambda t: f"{t[0]} BETWEEN {t[1]} AND {t[2]}"),
        st.tuples(_operands(), st.lists(_operands(), max_size=4)).map(
            lambda t: f"{t[0]} IN ({', '.join(t[1])})"
        ),
        st.tuples(_FUNCTIONS, st.lists(_operands(), max_size=3)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
    )
    expressions = st.recursive(
        atoms,
        lambda children: st.one_of(
            children.map(lambda c: f"NOT {c}"),
            children.map(lambda c: f"({c})"),
            st.tuples(children, st.sampled_from(["AND", "OR", "and", "XOR"]), children).map(" ".join),
        ),
        max_leaves=6,
    )
    return st.one_of(
        expressions,
        mutated(expressions),
        deeply_nested("(", "attribute_exists(pk)", ")"),
        deeply_nested("NOT ", "attribute_exists(pk)", ""),
        deeply_nested("size(", "pk", ")").map(lambda e: e + " > :v"),
        st.sampled_from([100, 2_000]).map(lambda n: " AND ".join(["attribute_exists(pk)"] * n)),
    )


@functools.cache
def projections() -> st.SearchStrategy[str]:
    lists = st.lists(_paths(), min_size=0, max_size=5).map(", ".join)
    return st.one_of(
        lists,
        mutated(lists),
        st.sampled_from([200, 1_000]).map(lambda n: ", ".join(f"a{i}" for i in range(n))),
    )


@functools.cache
def updates() -> st.SearchStrategy[str]:
    """Update expressions: SET/REMOVE/ADD/DELETE clauses (repeated, in any order, some malformed)."""
    values = st.one_of(
        _operands(),
        st.tuples(_operands(), st.sampled_from(["+", "-", "*"]), _operands()).map(" ".join),
        st.tuples(_paths(), _operands()).map(lambda t: f"if_not_exists({t[0]}, {t[1]})"),
        st.tuples(_operands(), _operands()).map(lambda t: f"list_append({t[0]}, {t[1]})"),
        deeply_nested("if_not_exists(pk, ", ":v", ")"),
    )
    clause = st.one_of(
        st.lists(st.tuples(_paths(), values).map(lambda t: f"{t[0]} = {t[1]}"), min_size=1, max_size=3).map(
            lambda actions: "SET " + ", ".join(actions)
        ),
        st.lists(_paths(), min_size=1, max_size=3).map(lambda paths: "REMOVE " + ", ".join(paths)),
        st.tuples(st.sampled_from(["ADD", "DELETE"]), _paths(), _operands()).map(" ".join),
    )
    expressions = st.lists(clause, min_size=1, max_size=3).map(" ".join)
    return st.one_of(expressions, mutated(expressions))


def placeholders_in(*expressions: str | None) -> tuple[list[str], list[str]]:
    """The ``#name`` and ``:value`` placeholders the expressions use, in order of first use."""
    names: list[str] = []
    values: list[str] = []
    for expression in expressions:
        for token in re.findall(r"[#:][A-Za-z0-9_]*", expression or ""):
            bucket = names if token.startswith("#") else values
            if token not in bucket:
                bucket.append(token)
    return names, values


ATTRIBUTE_VALUES = st.one_of(
    st.fixed_dictionaries({"S": st.text(max_size=4)}),
    st.fixed_dictionaries({"N": st.sampled_from(["1", "-1.5", "1e400", "x", "", "0x10", "1" * 50])}),
    st.fixed_dictionaries({"B": st.sampled_from(["YQ==", "", "!!"])}),
    st.fixed_dictionaries({"BOOL": st.booleans()}),
    st.fixed_dictionaries({"NULL": st.booleans()}),
    st.fixed_dictionaries({"L": st.lists(st.fixed_dictionaries({"S": st.just("a")}), max_size=2)}),
    st.fixed_dictionaries({"SS": st.lists(st.text(max_size=2), max_size=3)}),
    st.fixed_dictionaries({"NS": st.lists(st.sampled_from(["1", "2", "1", "x"]), max_size=3)}),
    st.fixed_dictionaries({"M": st.dictionaries(st.text(max_size=2), st.just({"S": "a"}), max_size=2)}),
    st.just({}),
    st.just({"S": "a", "N": "1"}),
)


# ───────────────────────────────────────────────── schedule expressions ─────────────────────────────────────────

_CRON_FIELD = st.one_of(
    st.integers(-1, 100).map(str),
    st.sampled_from(
        ["*", "?", "L", "W", "LW", "5L", "15W", "6#3", "6#9", "MON", "MON-FRI", "JAN", "DEC-JAN", "1/0"]
    ),
    st.tuples(st.integers(0, 70), st.integers(0, 70)).map(lambda t: f"{t[0]}-{t[1]}"),
    st.tuples(st.integers(0, 70), st.integers(-1, 70)).map(lambda t: f"{t[0]}/{t[1]}"),
    st.lists(st.integers(0, 70).map(str), min_size=2, max_size=3).map(",".join),
    WEIRD_TEXT,
)


@functools.cache
def schedule_expressions() -> st.SearchStrategy[str]:
    """at(), rate() and cron() expressions, with out-of-range parts, wrong field counts and impossible dates."""
    at = st.tuples(
        st.integers(0, 10_000), st.integers(0, 13), st.integers(0, 32), st.integers(0, 25), st.integers(0, 61)
    ).map(lambda t: f"at({t[0]:04d}-{t[1]:02d}-{t[2]:02d}T{t[3]:02d}:{t[4]:02d}:00)")
    rate = st.tuples(
        st.one_of(st.integers(-1, 10**12).map(str), st.sampled_from(["1.5", "one", "", "0x1"])),
        st.sampled_from(["minute", "minutes", "hour", "hours", "day", "days", "second", "weeks", ""]),
    ).map(lambda t: f"rate({t[0]} {t[1]})")
    cron = st.lists(_CRON_FIELD, min_size=4, max_size=7).map(lambda fields: f"cron({' '.join(fields)})")
    impossible = st.sampled_from(
        [
            "cron(0 0 30 2 ? *)",
            "cron(0 0 31 4 ? *)",
            "cron(0 0 ? * 6#5 1970)",
            "cron(0 0 29 2 ? 2100)",
            "cron(0 0 L 2 ? 2199)",
            "at(2026-02-30T00:00:00)",
            "cron(0 0 1 1 ? 1970-1971)",
        ]
    )
    valid_at = st.tuples(
        st.integers(2000, 2100),
        st.integers(1, 12),
        st.integers(1, 28),
        st.integers(0, 23),
        st.integers(0, 59),
    ).map(lambda t: f"at({t[0]:04d}-{t[1]:02d}-{t[2]:02d}T{t[3]:02d}:{t[4]:02d}:00)")
    valid_rate = st.one_of(
        st.sampled_from(["rate(1 minute)", "rate(1 hour)", "rate(1 day)"]),
        st.tuples(st.integers(2, 10_000), st.sampled_from(["minutes", "hours", "days"])).map(
            lambda t: f"rate({t[0]} {t[1]})"
        ),
    )
    valid_cron = st.tuples(
        st.sampled_from(["0", "*", "*/5", "0,30", "15-45"]),
        st.sampled_from(["0", "*", "9-17", "*/6", "23"]),
        st.sampled_from(["?", "*", "1", "L", "15W", "1-7", "29", "31"]),
        st.sampled_from(["*", "2", "JAN-MAR", "12", "*/2"]),
        st.sampled_from(["?", "MON-FRI", "6#3", "1L", "SUN"]),
        st.sampled_from(["*", "2026-2030", "2100", "2027"]),
    ).map(lambda f: f"cron({' '.join(f)})")
    return st.one_of(
        valid_at,
        valid_rate,
        valid_cron,
        valid_cron,
        at,
        rate,
        cron,
        mutated(st.one_of(at, rate, cron)),
        impossible,
    )


TIME_ZONES = st.one_of(
    st.sampled_from(
        [
            "UTC",
            "Europe/Paris",
            "America/St_Johns",
            "Asia/Kathmandu",
            "Pacific/Chatham",
            "Etc/GMT+14",
            "utc",
            "UTC+5",
            "",
            "../../etc/passwd",
            "Nowhere/Land",
            "\u0000",
            "posixrules",
            "EST5EDT",
        ]
    ),
    st.text(max_size=8),
)


# ───────────────────────────────────────────────── SQS queue attributes ─────────────────────────────────────────


@functools.cache
def queue_attributes(dead_letter_arns: tuple[str, ...]) -> st.SearchStrategy[dict[str, str]]:
    """SetQueueAttributes' Attributes: known names with valid, out-of-range and garbage values, JSON-valued ones
    (RedrivePolicy, RedriveAllowPolicy, Policy) built from their grammars and broken, and unknown names."""
    numbers = st.one_of(
        st.integers(-1, 2**40).map(str), st.sampled_from(["", "1.5", "1e3", " 1", "0x10", "∞"])
    )
    booleans = st.sampled_from(["true", "false", "TRUE", "1", "", "yes"])
    arns = st.one_of(
        st.sampled_from(dead_letter_arns), st.sampled_from(["", "arn:aws:sqs:::", "x"]), WEIRD_TEXT
    )
    redrive = st.one_of(
        st.fixed_dictionaries(
            {
                "deadLetterTargetArn": arns,
                "maxReceiveCount": st.one_of(numbers, st.integers(-1, 2000), JSON_SCALARS),
            }
        ).map(json.dumps),
        JSON_VALUES.map(json.dumps),
    )
    redrive_allow = st.fixed_dictionaries(
        {"redrivePermission": st.sampled_from(["allowAll", "denyAll", "byQueue", "x", ""])},
        optional={"sourceQueueArns": st.one_of(st.lists(arns, max_size=12), JSON_SCALARS)},
    ).map(json.dumps)
    policy = st.one_of(
        st.fixed_dictionaries(
            {
                "Version": st.sampled_from(["2012-10-17", "x"]),
                "Statement": st.one_of(
                    st.lists(st.dictionaries(NAMES, JSON_VALUES, max_size=3), max_size=2), JSON_SCALARS
                ),
            }
        ).map(json.dumps),
        JSON_VALUES.map(json.dumps),
    )
    values: dict[str, st.SearchStrategy[str]] = {
        "DelaySeconds": numbers,
        "MaximumMessageSize": numbers,
        "MessageRetentionPeriod": numbers,
        "ReceiveMessageWaitTimeSeconds": numbers,
        "VisibilityTimeout": numbers,
        "KmsDataKeyReusePeriodSeconds": numbers,
        "RedrivePolicy": st.one_of(redrive, mutated(redrive)),
        "RedriveAllowPolicy": st.one_of(redrive_allow, mutated(redrive_allow)),
        "Policy": st.one_of(policy, mutated(policy), deeply_nested('{"a":', "1", "}")),
        "FifoQueue": booleans,
        "ContentBasedDeduplication": booleans,
        "SqsManagedSseEnabled": booleans,
        "KmsMasterKeyId": st.text(max_size=6),
        "DeduplicationScope": st.sampled_from(["messageGroup", "queue", "x", ""]),
        "FifoThroughputLimit": st.sampled_from(["perQueue", "perMessageGroupId", "x"]),
        "QueueArn": st.text(max_size=4),
        "ApproximateNumberOfMessages": numbers,
        "Bogus": st.text(max_size=4),
        "": st.text(max_size=4),
    }
    return st.dictionaries(st.sampled_from(sorted(values)), st.just(""), min_size=1, max_size=2).flatmap(
        lambda chosen: st.fixed_dictionaries({name: values[name] for name in chosen})
    )


# ──────────────────────────────────────── CloudWatch: metric math, alarm rules, log filters ────────────────────────────


@functools.cache
def metric_math() -> st.SearchStrategy[str]:
    """GetMetricData expressions: ids, numbers, arithmetic, SUM/AVG/MIN/MAX/FILL/METRICS, some of it misused."""
    atoms = st.one_of(
        st.sampled_from(["m1", "m2", "e9", "nope", "1", "2.5", "0", "METRICS()", 'METRICS("a")', "REPEAT"]),
        st.integers(-5, 5).map(str),
    )
    expressions = st.recursive(
        atoms,
        lambda children: st.one_of(
            st.tuples(children, st.sampled_from(["+", "-", "*", "/", "%", "^"]), children).map(" ".join),
            children.map(lambda c: f"({c})"),
            children.map(lambda c: f"-{c}"),
            st.tuples(st.sampled_from(["SUM", "AVG", "MIN", "MAX", "sum", "STDDEV"]), children).map(
                lambda t: f"{t[0]}({t[1]})"
            ),
            st.tuples(children, st.sampled_from(["0", "REPEAT", "LINEAR", "m1", "x"])).map(
                lambda t: f"FILL({t[0]}, {t[1]})"
            ),
            st.lists(children, min_size=1, max_size=3).map(lambda items: f"[{', '.join(items)}]"),
        ),
        max_leaves=6,
    )
    return st.one_of(
        expressions, mutated(expressions), deeply_nested("(", "m1", ")"), deeply_nested("SUM(", "m1", ")")
    )


@functools.cache
def alarm_rules() -> st.SearchStrategy[str]:
    """Composite alarms' AlarmRule expressions."""
    names = st.sampled_from(
        ["kept", '"kept"', "other", "arn:aws:cloudwatch:us-east-1:000000000000:alarm:kept", ""]
    )
    atoms = st.one_of(
        st.tuples(st.sampled_from(["ALARM", "OK", "INSUFFICIENT_DATA", "alarm", "BOGUS"]), names).map(
            lambda t: f"{t[0]}({t[1]})"
        ),
        st.sampled_from(["TRUE", "FALSE", "true"]),
    )
    rules = st.recursive(
        atoms,
        lambda children: st.one_of(
            children.map(lambda c: f"NOT {c}"),
            children.map(lambda c: f"({c})"),
            st.tuples(children, st.sampled_from(["AND", "OR", "XOR"]), children).map(" ".join),
        ),
        max_leaves=6,
    )
    return st.one_of(
        rules, mutated(rules), deeply_nested("(", "TRUE", ")"), deeply_nested("NOT ", "TRUE", "")
    )


@functools.cache
def log_filter_patterns() -> st.SearchStrategy[str]:
    """CloudWatch Logs filter patterns: terms, alternatives, exclusions, JSON selectors, space-delimited."""
    terms = st.lists(
        st.tuples(
            st.sampled_from(["", "?", "-"]), st.one_of(NAMES, WEIRD_TEXT.map(lambda t: json.dumps(t)))
        ).map("".join),
        max_size=4,
    ).map(" ".join)
    paths = st.sampled_from(["$.level", "$.ms", "$.a.b", "$.list[0]", "$", "$.", "level"])
    values = st.one_of(
        st.sampled_from(['"error"', "error", "err*", "100", "-1.5", "1e3", "NULL", '"', "true"]),
        JSON_SCALARS.map(json.dumps),
    )
    conditions = st.one_of(
        st.tuples(paths, st.sampled_from(["=", "!=", "<", "<=", ">", ">=", "==", "=~"]), values).map(
            " ".join
        ),
        st.tuples(paths, st.sampled_from(["IS NULL", "NOT EXISTS", "IS TRUE", "IS FALSE", "IS"])).map(
            " ".join
        ),
    )
    selectors = st.recursive(
        conditions,
        lambda children: st.one_of(
            children.map(lambda c: f"({c})"),
            st.tuples(children, st.sampled_from(["&&", "||", "&", "AND"]), children).map(" ".join),
        ),
        max_leaves=5,
    ).map(lambda body: "{ " + body + " }")
    return st.one_of(
        terms,
        selectors,
        mutated(selectors),
        st.sampled_from(["[ip, user, ...]", "[]", "{", "}", "{}", ""]),
        deeply_nested("(", "$.a = 1", ")").map(lambda body: "{ " + body + " }"),
    )
