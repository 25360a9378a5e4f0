"""The command line: a thin shell over the library, like sqlite-utils' own CLI.

Imports are made inside each command so that `crimebot ask` loads only what answering needs.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

from bot.store import db_path_from_env


def _sources(args: argparse.Namespace) -> list[Path] | None:
    if args.source:
        return [Path(s) for s in args.source]
    env = os.environ.get("CRIMEBOT_SOURCES")
    return [Path(env)] if env else None


def cmd_ingest(args: argparse.Namespace) -> int:
    from bot.ingest import IngestError, build, summary
    from bot.sources import DownloadError, download

    db_path = db_path_from_env(args.db)
    sources = _sources(args)
    try:
        with tempfile.TemporaryDirectory(prefix="crimebot-download-") as scratch:
            if sources is None:
                print("No --source given: downloading the current ONS editions…", file=sys.stderr)
                sources = [download(Path(scratch))]
            report = build(sources, db_path, progress=sys.stderr.isatty() and not args.quiet)
    except (IngestError, DownloadError) as error:
        if args.verbose:
            logging.exception("ingest failed")
        print(f"crimebot ingest: failed, the store was left as it was.\n  {error}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(summary(report, db_path))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crimebot",
        description="Police recorded crime figures for England and Wales, answered like a "
                    "data reporter would.")
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="build the store from ONS files")
    ingest.add_argument("--source", action="append", metavar="DIR|FILE",
                        help="a folder or file of ONS tables (repeatable); default: download, "
                             "or $CRIMEBOT_SOURCES")
    ingest.add_argument("--db", help="store path (default $CRIMEBOT_DB or data/crime.db)")
    ingest.add_argument("--quiet", action="store_true", help="print nothing on success")
    ingest.add_argument("--verbose", action="store_true", help="show tracebacks on failure")
    ingest.set_defaults(func=cmd_ingest)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
