"""The structure of a reply: paragraphs that say what they are, and buttons that say what they
open.

Wording makes paragraphs with roles; answers, stories, the desk and the CLI read the roles, never
the prose; only `bot.telegram.render` turns them into Telegram HTML. Kept apart from everything
else so that every layer can speak in these without importing the layer that made them.
"""

from __future__ import annotations

from dataclasses import dataclass

# What a paragraph of an answer is (an answer prints them in the reporting guide's order:
# assumption, lead, change, context, rate, comparison, caveat, source).
LEAD = "lead"
CHANGE = "change"
CONTEXT = "context"
RATE = "rate"
COMPARISON = "comparison"
CAVEAT = "caveat"
ASSUMPTION = "assumption"
SOURCE = "source"


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of a reply and its role, so a story can lift the lead or the caveat
    without guessing from the words. A paragraph opens with the sentences saying what was
    `assumed` to reach it (the answer prints them first, the guide's order), then its `label`
    ("Caveat:"), then its `body`."""

    role: str
    body: str
    assumed: tuple[str, ...] = ()
    label: str = ""

    @property
    def text(self) -> str:
        """The paragraph as the answer prints it."""
        return " ".join([*self.assumed, *([self.label] if self.label else []), self.body])


@dataclass(frozen=True)
class Line:
    """One line of a list message (a digest, a ranking); `strong` lines are headings or the
    area asked about, which a surface may set in bold."""

    text: str
    strong: bool = False


# What a button does: send the full answer below the message ("open", digests and rankings),
# show the answer in place of this one ("answer", a candidate or the period before or after),
# send the series chart, or say where each number was printed.
OPEN, ANSWER, CHART, SOURCE_BUTTON = "open", "answer", "chart", "source"
WHERE_FROM = "Where is this from?"


@dataclass(frozen=True)
class Button:
    """A button under a reply: its label, and the area, offence and period (None: the latest
    held) whose answer, chart or sources it opens."""

    label: str
    area: str
    offence: str
    period: str | None
    action: str = OPEN


def joined_text(paragraphs: tuple[Paragraph, ...] | list[Paragraph]) -> str:
    """Plain text of a reply: its paragraphs, split by blank lines."""
    return "\n\n".join(p.text for p in paragraphs)
