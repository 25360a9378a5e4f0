"""The one answer function every surface calls: question → `Answer` (words and numbers).

Thin on purpose: `bot.facts` decides what may be said (a frozen `Finding` with every number and
its basis), `bot.wording` says it. `Answer` carries every number as data, so the CLI's JSON and
the bot's text cannot disagree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date
from pathlib import Path

from bot import wording
from bot.facts import Facts
from bot.finding import Change, Choice, Finding
from bot.gazetteer import Candidate, Gazetteer
from bot.offence_index import OffenceIndex
from bot.parts import ANSWER, CHART, LEAD, SOURCE_BUTTON, WHERE_FROM, Button, Paragraph, joined_text
from bot.periods import label as period_label
from bot.periods import short
from bot.places import ENGLAND_AND_WALES, normalise
from bot.store import Store
from bot.understanding import Parsed

__all__ = ["ENGLAND_AND_WALES", "STATUSES", "Answer", "Choice", "Engine", "open_engine"]

STATUSES = ("ok", "ambiguous", "not_found", "no_data")
HELP = wording.HELP


@dataclass(frozen=True)
class Answer:
    """Everything a reply says, as data. `text` is plain text (no markup), paragraphs split by
    blank lines; surfaces escape it for their own format. `paragraphs` are the same words with
    their roles (lead, change, context, rate, comparison, caveat, assumption, source), so a
    story or a surface picks a part by what it is, never by parsing the prose; a reply made
    without a Finding (an empty question) is one lead paragraph."""

    status: str
    text: str
    area_code: str | None = None
    area_name: str | None = None
    area_kind: str | None = None
    force_name: str | None = None
    offence_key: str | None = None
    offence_label: str | None = None
    period_end: str | None = None
    period_label: str | None = None
    count: int | None = None
    previous_end: str | None = None
    previous_count: int | None = None
    change_pct: float | None = None
    rate_per_1000: float | None = None
    national_end: str | None = None
    national_count: int | None = None
    national_rate: float | None = None
    edition: str | None = None
    published: str | None = None
    released: str | None = None
    source_url: str | None = None
    fetched_at: str | None = None
    earlier_period: str | None = None
    later_period: str | None = None
    candidates: tuple[Choice, ...] = ()
    parts: tuple[Answer, ...] = field(default=())
    assumptions: tuple[str, ...] = ()
    like_for_like: dict | None = field(default=None, compare=False)
    qualifications: dict | None = field(default=None, compare=False)
    matched: dict = field(default_factory=dict, compare=False)
    context: dict | None = field(default=None, compare=False)
    paragraphs: tuple[Paragraph, ...] = field(default=(), compare=False)

    @property
    def sections(self) -> tuple[Paragraph, ...]:
        """The reply's paragraphs with their roles (one lead paragraph for a bare reply)."""
        return self.paragraphs or (Paragraph(LEAD, self.text),)

    @property
    def buttons(self) -> tuple[tuple[Button, ...], ...]:
        """The buttons under the reply, in rows: a place or offence to choose, or for a figure
        the periods either side, its chart and where it is from."""
        if self.candidates:
            return tuple((Button(choice.label, choice.code, offence, self.period_end, ANSWER),)
                         for choice in self.candidates
                         if (offence := choice.offence_key or self.offence_key))
        if self.status != "ok" or not (self.area_code and self.offence_key
                                       and self.period_end):
            return ()
        area, offence = self.area_code, self.offence_key
        row = []
        if self.earlier_period:
            row.append(Button(f"◀ {short(self.earlier_period)}", area, offence,
                              self.earlier_period, ANSWER))
        row.append(Button("📈 Chart", area, offence, self.period_end, CHART))
        if self.later_period:
            row.append(Button(f"{short(self.later_period)} ▶", area, offence,
                              self.later_period, ANSWER))
        return (tuple(row), (Button(WHERE_FROM, area, offence, self.period_end,
                                    SOURCE_BUTTON),))

    def led(self, lead: str) -> Answer:
        """The answer opened by a follow-up's lead ("Following on from burglary: "), said as
        the first thing its first paragraph assumed."""
        if not lead:
            return self
        first, *rest = self.sections
        opened = replace(first, assumed=(lead.rstrip(), *first.assumed))
        paragraphs = (opened, *rest)
        return replace(self, text=joined_text(paragraphs), paragraphs=paragraphs)

    def to_json(self) -> dict:
        """The `crimebot ask --json` contract."""
        out: dict = {
            "status": self.status,
            "text": self.text,
            "area": ({"code": self.area_code, "name": self.area_name, "kind": self.area_kind}
                     if self.area_code else None),
            "offence": ({"key": self.offence_key, "label": self.offence_label}
                        if self.offence_key else None),
            "period": ({"end": self.period_end, "label": self.period_label}
                       if self.period_end else None),
            "count": self.count,
            "previous": ({"end": self.previous_end, "count": self.previous_count}
                         if self.previous_end else None),
            "change_pct": self.change_pct,
            "rate_per_1000": self.rate_per_1000,
            "national": ({"end": self.national_end, "count": self.national_count,
                          "rate_per_1000": self.national_rate} if self.national_end else None),
            "candidates": [_candidate_json(c) for c in self.candidates],
            "source": ({"edition": self.edition, "published": self.published,
                        "released": self.released, "url": self.source_url,
                        "fetched_at": self.fetched_at} if self.edition else None),
            "like_for_like": self.like_for_like,
            "qualifications": self.qualifications,
            "assumptions": list(self.assumptions),
            "matched": self.matched,
        }
        if self.parts:
            out["parts"] = [part.to_json() for part in self.parts]
        if self.context is not None:
            out["context"] = self.context
        return out


def like_for_like_json(change: Change | None) -> dict | None:
    """The change an answer states, both figures and both periods, unrounded."""
    if change is None:
        return None
    return {"period": change.later_end, "count": change.later_count,
            "previous_period": change.earlier_end, "previous_count": change.earlier_count,
            "change": change.pct}


def qualifications_json(f: Finding) -> dict | None:
    """ONS's qualifications the answer obeyed: the break it would not cross, the undercount
    it would not compare, the forces a partial total leaves out, an older-method figure."""
    q = f.qualified
    if q is None or not (q.broken or q.faulty or q.faulty_previous or q.excluded
                         or q.old_method):
        return None
    return {"break": asdict(q.broken) if q.broken else None, "undercount": list(q.faulty),
            "previous_undercount": q.faulty_previous, "partial_excludes": list(q.excluded),
            "old_method": f.flag == "old_method", "method_note": q.old_method or None}


def _candidate_json(choice: Choice) -> dict:
    """A place to choose is {code, name, kind}; an offence to choose is the same shape with
    the offence key as its code, never the code of the area the question was about."""
    if choice.offence_key:
        return {"code": choice.offence_key, "name": choice.name, "kind": "offence"}
    return {"code": choice.code, "name": choice.name, "kind": choice.kind}


def from_finding(f: Finding) -> Answer:
    """The Answer for a Finding: its words from `wording`, its numbers as they are."""
    area = f.area
    previous_held = f.previous_state not in {"", "not_held", "boundary", "qualified"}
    national = f.national if f.national is not None and f.national.count is not None else None
    paragraphs = wording.paragraphs(f)
    return Answer(
        f.status, joined_text(paragraphs), paragraphs=paragraphs,
        area_code=area.code if area else None, area_name=area.name if area else None,
        area_kind=area.kind if area else None, force_name=f.force_name,
        offence_key=f.offence_key, offence_label=f.offence_label,
        period_end=f.period_end if f.status != "not_found" else None,
        period_label=period_label(f.period_end) if f.period_end else None, count=f.count,
        previous_end=f.previous_end if previous_held else None,
        previous_count=f.previous_count if previous_held else None,
        change_pct=f.change.pct if f.change else None, rate_per_1000=f.rate,
        national_end=national.period_end if national else None,
        national_count=national.count if national else None,
        national_rate=f.national_rate[0] if f.national_rate else None,
        edition=wording.edition_name(f.edition, f.edition_key) or None,
        published=f.edition.published if f.edition else None,
        released=f.edition.released if f.edition else None,
        source_url=f.edition.source_url if f.edition else None,
        fetched_at=f.edition.fetched_at if f.edition else None,
        earlier_period=f.earlier_period, later_period=f.later_period,
        candidates=f.candidates, parts=tuple(from_finding(p) for p in f.parts),
        assumptions=f.assumptions or tuple(a for p in f.parts for a in p.assumptions),
        like_for_like=like_for_like_json(f.change or f.like_for_like),
        qualifications=qualifications_json(f),
        matched=wording.matched_json(f),
    )


class Engine:
    """Holds the store and the name indexes built from it; one per process."""

    def __init__(self, store: Store, today: date | None = None) -> None:
        self.store = store
        self.today = today
        self.facts = Facts(store)

    def _today(self) -> date:
        return self.today or date.today()

    def ask(self, question: str, today: date | None = None) -> Answer:
        """Answer a reporter's question in plain words. Never raises for any input text.

        `today` holds for this question only: the engine is shared by every chat, so one
        caller's date must not become another's "latest"."""
        if not isinstance(question, str) or not normalise(question):
            return Answer("not_found", "I didn't catch a question. " + HELP)
        return from_finding(self.finding(question, today))

    def finding(self, question: str, today: date | None = None) -> Finding:
        """The facts behind `ask`'s answer, for surfaces that draw them (the charts)."""
        return self.facts.for_question(question, today or self._today())

    def finding_for(self, area_code: str, offence_key: str,
                    period_end: str | None) -> Finding | None:
        """The facts behind `answer_for`'s answer; None when the button is out of date."""
        return self.facts.for_area(area_code, offence_key, period_end, self._today())

    def ask_parsed(self, parsed: Parsed, today: date | None = None) -> Answer:
        """Answer a question already read (a follow-up with its carried parts pinned).

        `today` holds for this question only, as in `ask`."""
        return from_finding(self.facts.for_parsed(parsed, today or self._today()))

    def offence_index(self) -> OffenceIndex:
        """The offence word index for the store as it is now."""
        self.facts.sync()
        assert self.facts.index is not None
        return self.facts.index

    @property
    def gazetteer(self) -> Gazetteer:
        """The name index for the store as it is now (rebuilt after a store swap)."""
        return self.facts.sync()

    def search_areas(self, text: str, limit: int = 10) -> list[Candidate]:
        return self.facts.sync().search(text, limit)

    def answer_for(self, area_code: str, offence_key: str, period_end: str | None) -> Answer:
        """Answer for an exact area, offence and period (None = latest held): for buttons."""
        found = self.finding_for(area_code, offence_key, period_end)
        if found is None:
            return Answer("not_found", "That button is out of date; please ask again. " + HELP)
        return from_finding(found)


def open_engine(db_path: str | Path, today: date | None = None) -> Engine:
    return Engine(Store(db_path), today)
