"""Entry point of the `pipework` command: each command group is a module with ``register(subparsers)``.

A module's ``register`` adds its subcommands and sets ``func`` on them: ``func(args) -> int`` is the exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# Modules that register command groups, in help order. A missing module (a feature not built) is skipped.
COMMAND_MODULES = (
    "pipework.cli.serve",
    "pipework.cli.events",
    "pipework.cli.patterns",
    "pipework.cli.schedules",
    "pipework.cli.pipes",
    "pipework.cli.cluster",
    "pipework.cli.breakers",
    "pipework.cli.metrics",
    "pipework.cli.keys",
    "pipework.cli.deploy",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pipework", description="Pipework: an event router you can run.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
