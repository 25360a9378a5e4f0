"""Story-ready copy: the answer to a question, laid out as a short news passage to paste.

The story is written from the same `Answer` the bot gives (its fields and its paragraphs, which
already follow the reporting guide's order), never from figures looked up again, so copy and reply
cannot disagree. What changes is the packaging: a headline from the answer's fields, the lead and
the context paragraphs as copy, the caveat as a plain paragraph, the source line last, and the
bot's own remarks ("No offence was named…") moved out of the copy into notes for the desk.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.answer import Answer
from bot.parts import ASSUMPTION, SOURCE
from bot.places import display
from bot.style import change
from bot.style import count as num


@dataclass(frozen=True)
class Story:
    """status: "ok", or the answer's own status when it asks back (then `text_only` holds its
    reply and the surface keeps the answer's buttons). `area_code`, `offence_key` and
    `period_end` say which chart and full answer belong with the copy."""

    status: str
    headline: str = ""
    paragraphs: tuple[str, ...] = ()
    desk_notes: tuple[str, ...] = ()
    source: str = ""
    text_only: str = ""
    area_code: str | None = None
    offence_key: str | None = None
    period_end: str | None = None

    @property
    def copy(self) -> str:
        """The paste-ready passage as plain text: headline, paragraphs, source."""
        if self.status != "ok":
            return self.text_only
        return "\n\n".join([self.headline, *self.paragraphs, self.source])


def headline(answer: Answer) -> str:
    """A headline from the answer's own fields: the change when ONS figures support one."""
    subject = (answer.offence_label or "Recorded crime")
    where = display(answer.area_name or "")
    if answer.change_pct:
        return f"{subject} in {where} {change(answer.change_pct)} in a year"
    if answer.previous_count is not None and answer.count is not None \
            and answer.previous_count != answer.count:
        direction = "rise" if answer.count > answer.previous_count else "fall"
        return f"{subject} in {where}: small-number {direction} to {num(answer.count)}"
    return f"{subject} in {where}: {num(answer.count)} in {answer.period_label}"


def build_story(answer: Answer) -> Story:
    """Turn a one-area answer into story copy; anything else is returned to be asked back."""
    if answer.status != "ok" or answer.parts or answer.count is None:
        text = answer.text
        if answer.parts and answer.status == "ok":
            text = ("A story covers one area and one period: ask for each side of the "
                    "comparison on its own.")
        return Story(answer.status if answer.status != "ok" else "ask_back", text_only=text,
                     area_code=answer.area_code, offence_key=answer.offence_key,
                     period_end=answer.period_end)
    # What the answer assumed ("No offence was named…") opens the paragraph it qualifies; it is
    # for the desk, not the copy. The caveat is copy without its label, the source closes it.
    notes: list[str] = []
    copy: list[str] = []
    source = ""
    for paragraph in answer.sections:
        notes += paragraph.assumed
        if paragraph.role == SOURCE:
            source = paragraph.text
        elif paragraph.role == ASSUMPTION:
            notes.append(paragraph.body)
        elif paragraph.body:
            copy.append(paragraph.body)
    return Story("ok", headline(answer), tuple(copy), tuple(dict.fromkeys(notes)), source,
                 area_code=answer.area_code, offence_key=answer.offence_key,
                 period_end=answer.period_end)
