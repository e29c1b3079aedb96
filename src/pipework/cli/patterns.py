"""`pipework test-pattern`: does an event match a pattern? Prints true/false (exit 0/1) or AWS's error (exit 2)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pipework.patterns import InvalidEventError, InvalidPatternError, compile_pattern


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "test-pattern",
        help="test an event pattern against an event",
        description="Prints true or false (exit 0 or 1), or the AWS error for an invalid pattern (exit 2). "
        "Each argument is inline JSON or @path/to/file.json.",
    )
    parser.add_argument("--pattern", required=True, help="the event pattern: JSON text or @file")
    parser.add_argument("--event", required=True, help="the event: JSON text or @file")
    parser.set_defaults(func=run)


def read_argument(value: str) -> str:
    """Inline text, or the content of a file given as ``@path`` (``@-`` reads standard input)."""
    if value.startswith("@"):
        name = value[1:]
        return sys.stdin.read() if name == "-" else Path(name).read_text()
    return value


def run(args: argparse.Namespace) -> int:
    try:
        pattern_text = read_argument(args.pattern)
        event_text = read_argument(args.event)
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        pattern = compile_pattern(pattern_text)
    except InvalidPatternError as exc:
        print(f"InvalidEventPatternException: {exc.message}", file=sys.stderr)
        return 2
    try:
        matched = pattern.matches(event_text)
    except InvalidEventError:
        print("InvalidEventPatternException: Parameter Event is not valid.", file=sys.stderr)
        return 2
    print("true" if matched else "false")
    return 0 if matched else 1
