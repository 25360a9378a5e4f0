"""Story-ready copy: the answer to a question, laid out as a short news passage to paste.

The story is written from the same `Answer` the bot gives (its fields and its paragraphs, which
already follow the reporting guide's order), never from figures looked up again, so copy and reply
cannot disagree. What changes is the packaging: a headline from the answer's fields, the lead and
the context paragraphs as copy, the caveat as a plain paragraph, the source line last, and the
bot's own remarks ("No offence was named…") moved out of the copy into notes for the desk.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from bot.answer import Answer
from bot.places import display
from bot.style import percent as _pct

_NOTE = re.compile(r"^\(|\bis taken as\b|\bthis is the latest period\b|^ONS publishes .* here is|"
                   r"^There is no figure for .* Here is", re.IGNORECASE)


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
        direction = "up" if answer.change_pct > 0 else "down"
        return f"{subject} in {where} {direction} {_pct(answer.change_pct)} in a year"
    if answer.previous_count is not None and answer.count is not None \
            and answer.previous_count != answer.count:
        direction = "rise" if answer.count > answer.previous_count else "fall"
        return f"{subject} in {where}: small-number {direction} to {answer.count:,}"
    return f"{subject} in {where}: {answer.count:,} in {answer.period_label}"


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
    # The answer lists what it assumed ("No offence was named…") as data where it can; those
    # sentences are lifted out of whatever paragraph carries them and kept for the desk.
    assumed = answer.assumptions
    notes: list[str] = []
    paragraphs: list[str] = []
    for paragraph in (p.strip() for p in answer.text.split("\n\n")):
        for sentence in assumed:
            if sentence and sentence in paragraph:
                paragraph = paragraph.replace(sentence, " ").strip()
                notes.append(sentence)
        if paragraph:
            paragraphs.append(re.sub(r"\s{2,}", " ", paragraph))
    figure = f"{answer.count:,}"
    lead_at = next((i for i, p in enumerate(paragraphs) if figure in p), 0)
    notes += paragraphs[:lead_at]
    copy: list[str] = []
    source = ""
    for paragraph in paragraphs[lead_at:]:
        if paragraph.startswith("Source:"):
            source = paragraph
        elif paragraph.startswith("Caveat:"):
            copy.append(paragraph.removeprefix("Caveat:").strip())
        elif copy and _NOTE.search(paragraph):
            notes.append(paragraph)
        else:
            copy.append(paragraph)
    return Story("ok", headline(answer), tuple(copy), tuple(dict.fromkeys(notes)), source,
                 area_code=answer.area_code, offence_key=answer.offence_key,
                 period_end=answer.period_end)


def story_html(story: Story) -> str:
    """Telegram HTML: headline in bold, copy and source escaped, desk notes in italics after."""
    if story.status != "ok":
        return html.escape(story.text_only, quote=False)
    parts = [f"<b>{html.escape(story.headline, quote=False)}</b>",
             *(html.escape(p, quote=False) for p in story.paragraphs),
             html.escape(story.source, quote=False)]
    if story.desk_notes:
        parts.append("<i>" + html.escape("For the desk, not for print: "
                                         + " ".join(story.desk_notes), quote=False) + "</i>")
    return "\n\n".join(p for p in parts if p)
