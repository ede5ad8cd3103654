"""`python -m nodes run --config <file>`: run one storage node."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from nodes.service import run


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m nodes")
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run a storage node")
    run_parser.add_argument("--config", required=True, type=Path)
    arguments = parser.parse_args()
    return run(arguments.config)


if __name__ == "__main__":
    sys.exit(main())
