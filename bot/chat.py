"""`crimebot chat`: a conversation in the terminal, with the private chat's follow-up rules.

Each line is a question. A line that reads as a follow-up ("and Flintshire?", "the year before",
"chart it") takes what it leaves out from the last answer, if that was given within the
follow-up window (`CRIMEBOT_FOLLOWUP_MINUTES`); the reply says what it carried. `--json` prints
one JSON object a line, for scripts. On a terminal, readline gives the arrow keys and history.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.answer import Answer, Engine
from bot.followup import Topic, reads_as_follow_up
from bot.reply import Turn, respond_after, turn_json, turn_text

EXPIRED = ("(The last answer is more than {minutes:g} minutes old, so this is read as a new "
           "question.)")
QUIT = {"quit", "exit", ":q", "bye"}
PROMPT = "crimebot> "
HISTORY = Path.home() / ".crimebot_history"  # earlier sessions' questions, like a shell's


@dataclass
class Session:
    """What the conversation remembers: the last answer's topic and when it was given."""

    window_s: float
    topic: Topic | None = None
    at: float = 0.0

    def after(self, question: str, now: float) -> tuple[Topic | None, str]:
        """The topic a line follows on from, and a note when the window has closed."""
        if self.topic is None or not reads_as_follow_up(question):
            return None, ""
        if now - self.at > self.window_s:
            return None, EXPIRED.format(minutes=self.window_s / 60)
        return self.topic, ""

    def answered(self, turn: Turn, now: float) -> None:
        if turn.topic is not None:
            self.topic, self.at = turn.topic, now


def lines(source: TextIO, interactive: bool) -> Iterator[str]:
    """Questions from the terminal (with line editing and history) or from a pipe."""
    if not interactive:
        yield from (line.rstrip("\n") for line in source)
        return
    import atexit
    import readline  # input() gains line editing and the arrow keys' history

    with contextlib.suppress(OSError):
        readline.read_history_file(HISTORY)
    atexit.register(readline.write_history_file, HISTORY)
    while True:
        try:
            yield input(PROMPT)
        except EOFError:
            print()
            return


def extra(engine: Engine, turn: Turn, charts: Path) -> str:
    """What a chart or story follow-up adds to the text: the PNG's path, or the copy."""
    answer = turn.reply
    if not isinstance(answer, Answer) or answer.status != "ok" or not (
            answer.area_code and answer.offence_key):
        return ""
    if turn.measure == "story":
        from bot.story import build_story

        return build_story(answer).copy
    if turn.measure == "chart":
        from bot.charts import ChartError, render_chart

        try:
            png = render_chart(engine.store, answer.area_code, answer.offence_key)
        except ChartError:
            return "No chart: too few periods are held for this series."
        path = charts / f"chart-{answer.area_code}-{answer.offence_key}.png"
        path.write_bytes(png)
        return f"Chart saved to {path}"
    return ""


def chat(engine: Engine, source: TextIO, out: TextIO, *, as_json: bool, interactive: bool,
         window_s: float, charts: Path, clock: Callable[[], float] = time.monotonic) -> int:
    session = Session(window_s)
    for line in lines(source, interactive):
        question = line.strip()
        if not question:
            continue
        if question.lower() in QUIT:
            break
        now = clock()
        after, note = session.after(question, now)
        turn = respond_after(engine, question, after)
        session.answered(turn, now)
        added = extra(engine, turn, charts)
        if as_json:
            body = turn_json(turn)
            if added:
                body[turn.measure] = added
            out.write(json.dumps(body, ensure_ascii=False) + "\n")
        else:
            text = turn_text(turn)
            if turn.measure == "story" and added:  # the copy stands for the answer's text
                text = turn.follow.lead.strip() if turn.follow else ""
            out.write("\n\n".join(p for p in (note, text, added) if p) + "\n\n")
        out.flush()
    return 0


def run(engine: Engine, *, as_json: bool, window_s: float) -> int:
    return chat(engine, sys.stdin, sys.stdout, as_json=as_json,
                interactive=sys.stdin.isatty() and not as_json, window_s=window_s,
                charts=Path.cwd())
