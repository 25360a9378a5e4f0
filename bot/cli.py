"""The command line: a thin shell over the library, like sqlite-utils' own CLI.

Imports are made inside each command so that `crimebot ask` loads only what answering needs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Paths, read, settings_help

if TYPE_CHECKING:
    from bot.answer import Engine


def _sources(args: argparse.Namespace) -> list[Path] | None:
    if args.source:
        return [Path(s) for s in args.source]
    if getattr(args, "from_archive", False):
        return None
    env = read("CRIMEBOT_SOURCES")
    return [env] if env else None


def _unreadable(paths: list[Path]) -> str | None:
    """Look at each source before the slow part, so a sandboxed path fails with its reason."""
    from bot.ops import explain_os_error

    try:
        for path in paths:
            path.stat()
            files = [p for p in path.iterdir() if not p.name.startswith(".")] \
                if path.is_dir() else [path]
            for file in files:
                if file.is_file():
                    file.open("rb").close()
    except OSError as error:
        return explain_os_error(error, "read")
    return None


def _unwritable(folder: Path) -> str | None:
    """Try the store's folder before spending seconds reading workbooks that cannot be saved."""
    import tempfile

    from bot.ops import explain_os_error

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".crimebot-write-test-"):
            pass
    except OSError as error:
        return explain_os_error(error, "write")
    return None


def _archive_or_shipped(archive: Path, scratch: Path, archive_only: bool) -> list[Path]:
    """The fetched archive when there is one, else the ONS files shipped in `data/ons/`.

    `refresh` passes `archive_only` once a store exists: a deployment that fetches must not
    quietly replace its store with the older shipped editions when its archive has gone missing.
    Its very first refresh, with ONS out of reach, builds from the shipped files and says so.
    """
    from bot.fetch import archive_sources
    from bot.ingest import IngestError
    from bot.sources import SHIPPED

    if archive_sources(archive, scratch):
        return [scratch]
    if not archive_only and SHIPPED.is_dir():
        print(f"crimebot: no fetched archive at {archive}: building from the ONS files shipped "
              f"with crimebot ({SHIPPED})", file=sys.stderr)
        return [SHIPPED]
    raise IngestError(
        f"no --source given and no archive at {archive}: run `crimebot fetch` (needs ONS), or "
        "pass --source DIR with the ONS files, or set CRIMEBOT_SOURCES.")


def cmd_ingest(args: argparse.Namespace) -> int:
    import logging
    import tempfile

    from bot.fetch import archive_provenance
    from bot.ingest import IngestError, build, summary
    from bot.ops import explain_os_error

    paths = Paths.from_env(store=args.db, archive=getattr(args, "archive", None))
    db_path = paths.store
    sources = _sources(args)
    if sources and (problem := _unreadable(sources)):
        print(f"crimebot ingest: {problem}", file=sys.stderr)
        return 1
    if problem := _unwritable(db_path.parent):
        print(f"crimebot ingest: {problem}; the store was left as it was", file=sys.stderr)
        return 1
    archive = paths.archive
    try:
        with tempfile.TemporaryDirectory(prefix="crimebot-archive-") as scratch:
            fetched = None
            if sources is None:
                archive_only = getattr(args, "from_archive", False) and db_path.exists()
                sources = _archive_or_shipped(archive, Path(scratch), archive_only)
                fetched = archive_provenance(archive)
            report = build(sources, db_path, progress=sys.stderr.isatty() and not args.quiet,
                           provenance=fetched)
    except IngestError as error:
        if args.verbose:
            logging.exception("ingest failed")
        print(f"crimebot ingest: failed, the store was left as it was.\n  {error}", file=sys.stderr)
        return 1
    except OSError as error:
        if args.verbose:
            logging.exception("ingest failed")
        print(f"crimebot ingest: {explain_os_error(error, 'write')}; the store was left as it "
              "was", file=sys.stderr)
        return 1
    if not args.quiet:
        print(summary(report, db_path))
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    from bot.fetch import fetch
    from bot.sources import DownloadError, Settings

    archive = Paths.from_env(store=args.db, archive=args.archive).archive
    try:
        report = fetch(archive, Settings.from_env(),
                       progress=sys.stderr.isatty() and not args.quiet)
    except DownloadError as error:
        print(f"crimebot fetch: {error}", file=sys.stderr)
        return 1
    if report.blind:
        print(f"crimebot fetch: {report.blind_line()}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(f"Archive {archive}: {len(report.fetched)} new file(s), {report.held} already "
              "held." + "".join(f"\n  {line}" for line in report.dataset_lines()))
    for problem in report.errors:
        print(f"crimebot fetch: {problem}", file=sys.stderr)
    return 1 if report.errors else 0


def cmd_refresh(args: argparse.Namespace) -> int:
    """Fetch what ONS has published since, then rebuild the store from the whole archive.

    A fetch that fails part-way still ingests what the archive holds; the exit code says so.
    With CRIMEBOT_SOURCES set (a deployment fed from a local folder, not from ONS) there is
    nothing to fetch: the folder is ingested, so an offline nightly run does not fail.
    """
    if read("CRIMEBOT_SOURCES"):
        return cmd_ingest(args)
    fetched = cmd_fetch(args)
    args.source, args.from_archive = None, True
    built = cmd_ingest(args)
    return built or fetched


# One exit-code rule for every command that answers a question (ask, story, history, rank):
# 0 a figure was given; 1 a reply was printed but holds no figure (a question back, a place or
# offence not found, a period not held: the text or the JSON `status` says which); 2 nothing
# could be answered (no store, or one that cannot be opened).
ANSWERED, NO_FIGURE, NO_STORE = 0, 1, 2


def exit_code(statuses: list[str]) -> int:
    """The rule above for one reply or a batch: every reply must have given its figure."""
    return ANSWERED if statuses and all(s == "ok" for s in statuses) else NO_FIGURE


def cmd_history(args: argparse.Namespace) -> int:
    from bot.wording import provenance_line

    engine = _engine(args)
    if engine is None:
        return NO_STORE
    answer = engine.ask(" ".join(args.question))
    if answer.status != "ok" or not (answer.area_code and answer.offence_key
                                     and answer.period_end):
        print(answer.text)
        return NO_FIGURE
    store = engine.store
    area = store.area(answer.area_code)
    print(f"{answer.offence_label} in {area.name if area else answer.area_code}, 12 months "
          f"ending {answer.period_end}, as each edition held published it:")
    from bot.provenance import where_printed

    for count, source in store.revision_sources(answer.area_code, answer.offence_key,
                                                answer.period_end):
        shown = f"{count:,}" if count is not None else "not available"
        print(f"  {shown:>12}  {source.edition_title} ({source.edition})")
        print(f"  {'':>12}  {where_printed(source)}")
        if (edition := store.edition(source.edition)) is not None:
            print(f"  {'':>12}  {provenance_line(edition)}")
    for note in store.notes_for(answer.area_code, answer.offence_key, answer.period_end):
        print(f"  Note: {note}")
    return ANSWERED


def cmd_notes(args: argparse.Namespace) -> int:
    engine = _engine(args)
    if engine is None:
        return NO_STORE
    from bot.qualifications import notes_listing

    lines = notes_listing(engine.store, args.words)
    print("\n".join(lines) if lines else "No notes or breaks held match that.")
    return 0


def _engine(args: argparse.Namespace):
    """Open the store for answering; build it first when CRIMEBOT_SOURCES says where from."""
    from bot.answer import open_engine
    from bot.store import StoreError

    db_path = Paths.from_env(store=getattr(args, "db", None)).store
    if not db_path.exists() and (sources := read("CRIMEBOT_SOURCES")):
        from bot.ingest import build

        print(f"No store yet: building {db_path} from $CRIMEBOT_SOURCES…", file=sys.stderr)
        build([sources], db_path)
    try:
        return open_engine(db_path)
    except StoreError as error:
        print(f"crimebot: {error}", file=sys.stderr)
        return None


def cmd_ask(args: argparse.Namespace) -> int:
    """Answers and rankings both, through `bot.reply.respond` as the bot does."""
    from bot.reply import reply_json, reply_text, respond

    engine = _engine(args)
    if engine is None:
        return NO_STORE
    if args.batch:
        import json

        source = sys.stdin if args.batch == "-" else open(args.batch, encoding="utf-8")  # noqa: SIM115
        statuses = []
        with source:
            for line in source:
                reply = respond(engine, line.rstrip("\n"))
                statuses.append(reply.status)
                print(json.dumps(reply_json(reply, engine.store), ensure_ascii=False),
                      flush=False)
        sys.stdout.flush()
        return exit_code(statuses)
    if args.after:
        return _ask_after(engine, args.after, " ".join(args.question), args.json)
    reply = respond(engine, " ".join(args.question))
    if args.json:
        import json

        print(json.dumps(reply_json(reply, engine.store), ensure_ascii=False, indent=None))
    else:
        print(reply_text(reply))
    return exit_code([reply.status])


def _ask_after(engine: Engine, first: str, question: str, as_json: bool) -> int:
    """`ask --after Q1 Q2`: Q2 read as a follow-up of Q1's answer, as a reply to it would be."""
    import json

    from bot.reply import respond_after, turn_json, turn_text

    before = respond_after(engine, first, None)
    if before.topic is None:
        print(f"crimebot: “{first}” did not give one answer to follow on from, so the question "
              "is answered on its own.", file=sys.stderr)
    turn = respond_after(engine, question, before.topic)
    print(json.dumps(turn_json(turn), ensure_ascii=False) if as_json else turn_text(turn))
    return exit_code([turn.reply.status])


def cmd_chat(args: argparse.Namespace) -> int:
    """An interactive conversation; follow-ups carry the last answer's context."""
    from bot.chat import run

    engine = _engine(args)
    if engine is None:
        return NO_STORE
    return run(engine, as_json=args.json, window_s=read("CRIMEBOT_FOLLOWUP_MINUTES") * 60)


def cmd_export(args: argparse.Namespace) -> int:
    """The series behind an answer (or with --ranking, a ranking's rows) with provenance."""
    from bot.export import answer_rows, ranking_rows, render
    from bot.rankings import parse_ranking, rank

    engine = _engine(args)
    if engine is None:
        return NO_STORE
    question = " ".join(args.question)
    if args.ranking:
        ask = parse_ranking(question, engine.gazetteer)
        if ask is None:
            print("That is not a ranking question; try e.g. “which area in Kent has the "
                  "highest burglary rate”.", file=sys.stderr)
            return 1
        ranking = rank(engine.store, ask)
        if ranking.status != "ok":
            print(ranking.message, file=sys.stderr)
            return 1
        rows = ranking_rows(engine.store, ranking)
    else:
        answer = engine.ask(question)
        rows = answer_rows(engine.store, answer) if answer.status == "ok" else []
        if not rows:
            print(answer.text, file=sys.stderr)
            return 1
    text = render(rows, args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_browse(args: argparse.Namespace) -> int:
    """Datasette on the store, on 127.0.0.1 only; the metadata file goes where --metadata says."""
    import tempfile

    from bot.browse import serve

    db_path = Paths.from_env(store=args.db).store
    if not db_path.is_file():
        print(f"crimebot: no store at {db_path}: build it with `crimebot ingest`",
              file=sys.stderr)
        return 2
    if args.metadata:
        return serve(db_path, "127.0.0.1", args.port, Path(args.metadata))
    with tempfile.TemporaryDirectory(prefix="crimebot-browse-") as folder:
        return serve(db_path, "127.0.0.1", args.port, Path(folder) / "metadata.json")


def cmd_areas(args: argparse.Namespace) -> int:
    engine = _engine(args)
    if engine is None:
        return NO_STORE
    for candidate in engine.search_areas(" ".join(args.query), limit=args.limit):
        print(f"{candidate.score:5.1f}  {candidate.code:<28} {candidate.kind:<18} "
              f"{candidate.name}")
    return 0


# --- the release-day desk: rankings, digests, story copy ---------------------------------------


def cmd_rank(args: argparse.Namespace) -> int:
    from bot.rankings import parse_ranking, rank, ranking_text

    engine = _engine(args)
    if engine is None:
        return NO_STORE
    question = " ".join(args.question)
    ask = parse_ranking(question, engine.gazetteer)
    if ask is None:
        print("That is not a ranking question; try e.g. “which area in Kent has the highest "
              "burglary rate” or `crimebot ask` for one area.", file=sys.stderr)
        return NO_FIGURE
    ranking = rank(engine.store, ask)
    print(ranking_text(ranking))
    return exit_code([ranking.status])


def cmd_digest(args: argparse.Namespace) -> int:
    from bot.desk import build_digest, digest_text
    from bot.subscriptions import parse_patch, patch_problems

    engine = _engine(args)
    if engine is None:
        return NO_STORE
    parsed = parse_patch(args.patch, engine.gazetteer)
    if not parsed.complete:
        print(patch_problems(parsed), file=sys.stderr)
        return 1
    digest = build_digest(engine.store, parsed.areas, args.edition)
    if args.html:
        from bot.telegram.render import digest_html

        print(digest_html(digest))
    else:
        print(digest_text(digest))
    return 0 if digest.period_end else 1


def cmd_story(args: argparse.Namespace) -> int:
    from bot.story import build_story

    engine = _engine(args)
    if engine is None:
        return NO_STORE
    story = build_story(engine.ask(" ".join(args.question)))
    print(story.copy)
    if story.desk_notes:
        print("\n(For the desk, not for print: " + " ".join(story.desk_notes) + ")")
    return exit_code([story.status])


def cmd_chart(args: argparse.Namespace) -> int:
    """The chart for a question (PNG, or SVG for an .svg path) and/or the data behind it."""
    import json

    from bot.charts import ChartError, chart_data, render_chart

    engine = _engine(args)
    if engine is None:
        return NO_STORE
    question = " ".join(args.question)
    if not args.output and not args.json:
        print("crimebot chart: say where to write it (-o chart.png or chart.svg) or ask for "
              "--json", file=sys.stderr)
        return 2
    try:
        data = chart_data(engine.store, engine.finding(question))
    except ChartError:
        print(engine.ask(question).text)
        return 1
    if args.json:
        print(json.dumps(data.to_json(), ensure_ascii=False, indent=2))
    if args.output:
        path = Path(args.output)
        fmt = "svg" if path.suffix.lower() == ".svg" else "png"
        try:
            path.write_bytes(render_chart(data, fmt))
        except OSError as error:
            from bot.ops import explain_os_error

            print(f"crimebot chart: {explain_os_error(error, 'write')}", file=sys.stderr)
            return 1
        print(f"{data.caption}\nWrote {path}", file=sys.stderr)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Exit 2 on bad settings, before anything touches the network or the store.

    A filesystem error (an unreadable store, a port the webhook cannot bind) is one line naming
    the path and the likely cause, not a traceback in the journal.
    """
    from bot.config import Config, ConfigError, WebhookSettings
    from bot.ops import explain_os_error, store_unopenable, wait_for_store

    try:
        config = Config.from_env(os.environ)
        webhook = WebhookSettings.from_env(os.environ, args.webhook) if args.webhook else None
    except ConfigError as error:
        print(f"crimebot run: {error}", file=sys.stderr)
        return 2
    if args.wait_for_store:
        wait_for_store(config.db_path, heartbeat=config.paths.heartbeat)
    if problem := store_unopenable(config.db_path):
        print(f"crimebot run: {problem}", file=sys.stderr)
        return 1
    from bot.telegram import run

    try:
        return run(config, webhook)
    except OSError as error:
        print(f"crimebot run: {explain_os_error(error, 'use')}", file=sys.stderr)
        return 1


def cmd_doctor(args: argparse.Namespace) -> int:
    from bot.ops import doctor

    code, report = doctor(os.environ)
    print(report)
    return code


def cmd_healthcheck(args: argparse.Namespace) -> int:
    """Exit 0 while the running bot's heartbeat is fresh; Docker's HEALTHCHECK runs this."""
    from bot.ops import heartbeat_problem, heartbeat_state

    path = Paths.from_env().heartbeat
    problem = heartbeat_problem(path)
    if problem:
        print(f"crimebot healthcheck: {problem}", file=sys.stderr)
        return 1
    if state := heartbeat_state(path):
        print(f"crimebot healthcheck: {state}")
    return 0


def _add_ask(commands: argparse._SubParsersAction) -> None:
    """The `ask` command, in its own function so a fresh `crimebot ask` can build it alone."""
    ask = commands.add_parser("ask", help="answer a question in plain words")
    ask.add_argument("question", nargs="*", help='e.g. "sexual offences Wrexham 2022"')
    ask.add_argument("--json", action="store_true", help="print one JSON object")
    ask.add_argument("--batch", metavar="FILE",
                     help="answer one question a line from FILE (- for stdin), JSON lines out")
    ask.add_argument("--db", help="store path (default $CRIMEBOT_DB or data/crime.db)")
    ask.add_argument("--after", metavar="QUESTION",
                     help="read the question as a follow-up of this one's answer, e.g. "
                          '--after "sexual offences Wrexham 2022" "and Flintshire?"')
    ask.set_defaults(func=cmd_ask)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Every command's parser, or with `only="ask"` just that one: a fresh `crimebot ask` is
    what a reporter runs most, and building the other sixteen parsers was a tenth of its start.
    """
    parser = argparse.ArgumentParser(
        prog="crimebot",
        description="Police recorded crime figures for England and Wales, answered like a "
                    "data reporter would.")
    commands = parser.add_subparsers(dest="command", required=True)
    if only == "ask":
        _add_ask(commands)
        return parser

    ingest = commands.add_parser("ingest", help="build the store from ONS files")
    ingest.add_argument("--source", action="append", metavar="DIR|FILE",
                        help="a folder or file of ONS tables (repeatable); default: "
                             "$CRIMEBOT_SOURCES, else the archive `crimebot fetch` fills, else "
                             "the ONS files shipped in data/ons")
    ingest.add_argument("--db", help="store path (default $CRIMEBOT_DB or data/crime.db)")
    ingest.epilog = "Environment:\n" + settings_help(("all", "ingest"))
    ingest.formatter_class = argparse.RawDescriptionHelpFormatter
    ingest.add_argument("--quiet", action="store_true", help="print nothing on success")
    ingest.add_argument("--verbose", action="store_true", help="show tracebacks on failure")
    ingest.set_defaults(func=cmd_ingest)

    ingest.add_argument("--archive", metavar="DIR",
                        help="archive to build from when no --source is given (default "
                             "$CRIMEBOT_ARCHIVE or an 'archive' folder beside the store)")

    for name, helptext, func in (
        ("fetch", "download every ONS edition not yet in the archive", cmd_fetch),
        ("refresh", "fetch, then rebuild the store from the archive (the nightly job)",
         cmd_refresh),
    ):
        command = commands.add_parser(name, help=helptext)
        command.add_argument("--archive", metavar="DIR",
                             help="archive folder (default $CRIMEBOT_ARCHIVE or beside the "
                                  "store)")
        command.add_argument("--db", help="store path (default $CRIMEBOT_DB or data/crime.db)")
        command.add_argument("--quiet", action="store_true", help="print nothing on success")
        command.add_argument("--verbose", action="store_true",
                             help="show tracebacks on failure")
        command.set_defaults(func=func, source=None)

    history = commands.add_parser(
        "history", help="a figure as every edition held published it",
        description='e.g. crimebot history "sexual offences England and Wales 2021/22"')
    history.add_argument("question", nargs="+")
    history.add_argument("--db", help="store path (default $CRIMEBOT_DB or data/crime.db)")
    history.set_defaults(func=cmd_history)

    notes = commands.add_parser(
        "notes", help="the ONS notes, breaks and flags the store holds",
        description="List the comparability breaks and the notes (undercounts, totals that "
                    "leave a force out, revisions) read from the ONS files; words narrow the "
                    'list, e.g. crimebot notes knife "Metropolitan Police"')
    notes.add_argument("words", nargs="*", help="keep lines mentioning every word")
    notes.add_argument("--db", help="store path (default $CRIMEBOT_DB or data/crime.db)")
    notes.set_defaults(func=cmd_notes)

    _add_ask(commands)

    chat = commands.add_parser(
        "chat", help="a conversation: follow-ups such as “and Flintshire?” carry the last "
                     "answer's context",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="One question a line; quit or Ctrl-D ends.\n"
                    + settings_help(("all",)))
    chat.add_argument("--json", action="store_true", help="print one JSON object a line")
    chat.add_argument("--db", help="store path (default $CRIMEBOT_DB or data/crime.db)")
    chat.set_defaults(func=cmd_chat)

    export = commands.add_parser(
        "export", help="the series behind an answer (or a ranking) as CSV or JSON, with the "
                       "file, sheet and cell of every figure")
    export.add_argument("question", nargs="+", help='e.g. "burglary Leeds"')
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--ranking", action="store_true",
                        help="export a ranking question's rows instead of one area's series")
    export.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    export.add_argument("--db", help="store path (default $CRIMEBOT_DB or data/crime.db)")
    export.set_defaults(func=cmd_export)

    browse = commands.add_parser(
        "browse", help='browse the store in Datasette on 127.0.0.1 (pip install -e ".[browse]")')
    browse.add_argument("--port", type=int, default=8001)
    browse.add_argument("--metadata", metavar="FILE",
                        help="also keep the Datasette metadata file here")
    browse.add_argument("--db", help="store path (default $CRIMEBOT_DB or data/crime.db)")
    browse.set_defaults(func=cmd_browse)

    areas = commands.add_parser("areas", help="list the areas that best match a name")
    areas.add_argument("query", nargs="+")
    areas.add_argument("--limit", type=int, default=10)
    areas.add_argument("--db", help="store path (default $CRIMEBOT_DB or data/crime.db)")
    areas.set_defaults(func=cmd_areas)

    rank = commands.add_parser("rank", help="rank areas: “which area in Kent has the highest "
                                            "burglary rate”")
    rank.add_argument("question", nargs="+")
    rank.add_argument("--db", help="store path (default $CRIMEBOT_DB or data/crime.db)")
    rank.set_defaults(func=cmd_rank)

    digest = commands.add_parser("digest", help="what an edition says about a patch of areas")
    digest.add_argument("--patch", required=True,
                        help='areas separated by commas, e.g. "Wrexham, Flintshire, North Wales '
                             'Police"')
    digest.add_argument("--edition", metavar="KEY",
                        help="edition key (see `crimebot ingest` output); default: the newest")
    digest.add_argument("--html", action="store_true", help="print the Telegram HTML")
    digest.add_argument("--db", help="store path (default $CRIMEBOT_DB or data/crime.db)")
    digest.set_defaults(func=cmd_digest)

    story = commands.add_parser("story", help="the answer as paste-ready news copy")
    story.add_argument("question", nargs="+", help='e.g. "sexual offences Wrexham"')
    story.add_argument("--db", help="store path (default $CRIMEBOT_DB or data/crime.db)")
    story.set_defaults(func=cmd_story)

    chart = commands.add_parser(
        "chart", help="chart a question's series: PNG, SVG, or the data behind it as JSON",
        description='e.g. crimebot chart "burglary Kent police" -o kent.png')
    chart.add_argument("question", nargs="+")
    chart.add_argument("-o", "--output", metavar="FILE",
                       help="write the chart here: .svg for SVG, anything else PNG")
    chart.add_argument("--json", action="store_true",
                       help="print the data behind the chart (lines, gaps, breaks, highlighted "
                            "point, source)")
    chart.add_argument("--db", help="store path (default $CRIMEBOT_DB or data/crime.db)")
    chart.set_defaults(func=cmd_chart)

    run = commands.add_parser(
        "run", help="run the Telegram bot (long polling)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Settings come from the environment (blank = default):\n"
                    + settings_help(("run", "all", "webhook")))
    run.add_argument("--webhook", metavar="URL",
                     help="serve Telegram's webhook POSTs (and GET /healthz) instead of polling")
    run.add_argument("--wait-for-store", action="store_true",
                     help="if there is no store yet, wait for `crimebot ingest` (or "
                          "crimebot-refresh.service) to build it instead of exiting")
    run.set_defaults(func=cmd_run)

    doctor = commands.add_parser(
        "doctor", help="check the settings, the token (getMe) and the store",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="One line per check; exits non-zero when anything is wrong. Reads the "
                    "same environment as `crimebot run`:\n"
                    + settings_help(("run", "all", "webhook", "ingest")))
    doctor.set_defaults(func=cmd_doctor)

    healthcheck = commands.add_parser(
        "healthcheck", help="exit 0 while the running bot's heartbeat is fresh",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Fails when the heartbeat file is missing or older than 120 s.\n"
                    + settings_help(("all",)))
    healthcheck.set_defaults(func=cmd_healthcheck)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv[0] if argv[:1] == ["ask"] else None).parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        # The reader went away (`crimebot ask … | head`): nothing left to say, and no traceback.
        # Python would flush stdout again at exit and fail once more, so point it at /dev/null.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
