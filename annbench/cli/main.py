"""``annbench`` entry point: dispatch to a subcommand; user errors become one line, exit 2."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from annbench.errors import UserError

SUBCOMMANDS = ("datasets", "sweep", "scale", "results", "summary", "report", "indexes", "tune")



class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's usage dump becomes one line
        raise UserError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="annbench", description=__doc__)
    from annbench import __version__

    parser.add_argument("--version", action="version", version=f"annbench {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in SUBCOMMANDS:
        module = f"annbench.cli.{name}_cmd"
        try:
            importlib.import_module(module).add_parser(sub)
        except ModuleNotFoundError as exc:  # a subcommand whose module is absent is simply not offered
            if exc.name != module:
                raise

    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra and args.command not in ("sweep", "tune"):  # their index parameters: --NAME v1,v2
            raise UserError(f"unrecognized arguments: {' '.join(extra)}")
        args.extra = extra
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"annbench: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("annbench: interrupted", file=sys.stderr)
        return 130
    except (OSError, MemoryError) as exc:
        if os.environ.get("ANNBENCH_DEBUG"):
            raise
        print(f"annbench: error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
