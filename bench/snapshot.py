"""Every bench question's reply text, written once and compared later.

Why: a speed rewrite of the answer path must not change what reporters read (issue 12), and the
only way to be sure is to ask the same questions before and after. The snapshot holds the
questions themselves and the pinned "today", not the seed: after an ingest change the generator
may draw different questions, and "last year" must mean the same on both sides.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path


def write_snapshot(path: Path, db: Path, questions: Sequence[str], today: date) -> int:
    """One JSON object per line: a header, then {"q", "a", "status"} per question."""
    from bot.answer import open_engine

    engine = open_engine(db, today=today)
    try:
        with path.open("w", encoding="utf-8") as out:
            out.write(json.dumps({"today": today.isoformat(), "questions": len(questions)})
                      + "\n")
            for question in questions:
                answer = engine.ask(question, today=today)
                out.write(json.dumps({"q": question, "a": answer.text,
                                      "status": answer.status}, ensure_ascii=False) + "\n")
    finally:
        engine.store.close()
    return len(questions)


NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")


def _first_paragraph(text: str) -> str:
    return text.split("\n\n", 1)[0]


def compare_snapshot(path: Path, db: Path, examples: int = 5) -> tuple[int, int, str]:
    """Ask the snapshot's questions again; (questions, differing, report text).

    Besides "differs at all", it counts replies whose first paragraph (the headline figure)
    differs and replies whose figures differ (the numbers in the text, as a multiset), so a
    wording rewrite that keeps every number can be told from one that changes what is said.
    """
    from bot.answer import open_engine

    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    today = date.fromisoformat(header["today"])
    records = [json.loads(line) for line in lines[1:] if line.strip()]
    engine = open_engine(db, today=today)
    differing: list[tuple[str, str, str]] = []
    try:
        for record in records:
            now = engine.ask(record["q"], today=today).text
            if now != record["a"]:
                differing.append((record["q"], record["a"], now))
    finally:
        engine.store.close()
    headline = sum(_first_paragraph(b) != _first_paragraph(a) for _, b, a in differing)
    numbers = sum(sorted(NUMBER.findall(b)) != sorted(NUMBER.findall(a))
                  for _, b, a in differing)
    out = [f"{len(differing)} of {len(records)} replies differ from {path} "
           f"(answered as if today were {today:%-d %B %Y}); the first paragraph differs in "
           f"{headline}, the numbers in the text in {numbers}."]
    for question, before, after in differing[:examples]:
        diff = difflib.unified_diff(before.splitlines(), after.splitlines(), "before", "after",
                                    lineterm="", n=1)
        out += ["", f"--- question: {question}", *diff]
    return len(records), len(differing), "\n".join(out)
