"""Offence words → offence keys: every phrase an offence answers to, as one dictionary.

Built from the catalogue and the store's own labels. `crimebot ingest` writes the phrases into
the store (`offence_phrases`), so a fresh process reads them in one query instead of folding
every phrase again; rapidfuzz is imported only when a word needs respelling.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.offences import CATALOGUE, GENERIC_WORDS, OFFENCE_ALIASES, RELATED
from bot.places import name_key
from bot.words import FILLER, TOKEN, word_spans


def phrase_key(phrase: str) -> str:
    return " ".join(TOKEN.findall(name_key(phrase)))


class OffenceIndex:
    """Every phrase an offence answers to, as a dictionary over word n-grams.

    Matching a question is a handful of dictionary look-ups (longest phrase first), not one regex
    per phrase: that was most of the time a warm answer took. Built once per store; `labels` are
    the store's offence keys and labels (the appendix tables' finer categories) when known.
    """

    def __init__(self, labels: dict[str, str] | None = None) -> None:
        phrases: dict[str, str] = {}
        for offence in CATALOGUE:
            for phrase in (offence.label, *offence.ons_labels, *offence.words):
                phrases.setdefault(phrase_key(phrase), offence.key)
        for key, label in (labels or {}).items():
            cleaned = phrase_key(re.sub(r"^(total|of which)\b", "", label.lower()))
            if cleaned and cleaned not in GENERIC_WORDS:
                phrases.setdefault(cleaned, key)
        for phrase, key in OFFENCE_ALIASES.items():
            if labels is None or key == "" or key in labels:
                phrases[phrase_key(phrase)] = key
        for word in sorted(GENERIC_WORDS):
            phrases[word] = "all_crime"
        self.phrases = phrases
        # Phrases that are an ONS label of the offence they name: matched "exact", not "alias".
        self.labels = {phrase_key(label) for offence in CATALOGUE
                       for label in (offence.label, *offence.ons_labels)
                       if phrases.get(phrase_key(label)) == offence.key}
        self.labels |= {p for p, k in phrases.items()
                        if labels and k in labels and p == phrase_key(labels[k])}
        self._finish()

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, int]]) -> OffenceIndex:
        """The index `crimebot ingest` stored (`rows()`, read back in order), without folding
        every catalogue phrase and store label again on each start."""
        self = cls.__new__(cls)
        self.phrases, self.labels = {}, set()
        for phrase, key, is_label in rows:
            self.phrases[phrase] = key
            if is_label:
                self.labels.add(phrase)
        self._finish()
        return self

    def rows(self) -> list[tuple[str, str, int]]:
        """(phrase, offence key, 1 when the phrase is an ONS label) in the index's order."""
        return [(phrase, key, int(phrase in self.labels)) for phrase, key in self.phrases.items()]

    def _finish(self) -> None:
        """What matching needs beyond the phrases themselves, derived from them."""
        phrases = self.phrases
        self.longest = max(len(p.split()) for p in phrases)
        self.words = sorted({p for p, k in phrases.items() if " " not in p and k
                             and p not in GENERIC_WORDS and len(p) >= 5})
        # Every word of every offence phrase: what a slipped letter is corrected towards.
        self.vocabulary = frozenset(w for p in phrases for w in p.split())
        self._spellable = sorted(w for w in self.vocabulary if len(w) >= 4 and w.isalpha())
        # Labels long enough to be described in other words ("deaths or serious injuries from
        # unlawful driving"): the set of their content stems, longest first.
        described: dict[frozenset[str], str] = {}
        for phrase, key in phrases.items():
            stems = frozenset(_stem(w) for w in phrase.split() if w not in DESCRIPTION_FILLER)
            if key and len(stems) >= 3:
                described.setdefault(stems, key)
        self.described = sorted(described.items(), key=lambda item: -len(item[0]))

    def find(self, text: str) -> tuple[str | None, str, tuple[int, int]]:
        """(key, phrase, character span) of the longest offence phrase; key "" names a topic ONS
        does not count as one offence ("hate crime"); (None, "", (0, 0)) when none is named."""
        tokens = word_spans(text)
        words = [t.group(0) for t in tokens]
        for size in range(min(self.longest, len(words)), 0, -1):
            for start in range(len(words) - size + 1):
                phrase = " ".join(words[start:start + size])
                key = self.phrases.get(phrase)
                if key is not None:
                    return key, phrase, (tokens[start].start(), tokens[start + size - 1].end())
        return None, "", (0, 0)

    def describe(self, text: str) -> tuple[str, list[tuple[int, int]]] | None:
        """An offence named by the content words of its label in another order or form
        ("deaths or serious injuries from unlawful driving"): its key and the character spans
        of the words that named it; None when no label's every content word is there."""
        tokens = word_spans(text)
        stems = [_stem(t.group(0)) for t in tokens]
        present = set(stems)
        for wanted, key in self.described:
            if wanted <= present:
                spans = [(t.start(), t.end()) for t, stem in zip(tokens, stems, strict=True)
                         if stem in wanted]
                return key, spans
        return None

    def respell(self, word: str) -> str | None:
        """The one offence word `word` is a single slip from (a letter dropped, added, changed
        or two swapped, first letter kept), or None when there is none or more than one."""
        from rapidfuzz.distance import OSA

        close = {w for w in self._spellable if w[0] == word[0] and abs(len(w) - len(word)) <= 1
                 and OSA.distance(word, w, score_cutoff=1) <= 1}
        return close.pop() if len(close) == 1 else None

    def fuzzy(self, word: str) -> tuple[str, str, float] | None:
        """A misspelt offence word ("burglries"): same first letter, ratio ≥ 86."""
        from rapidfuzz import fuzz, process

        found = process.extractOne(word, self.words, scorer=fuzz.ratio, score_cutoff=86)
        if found and found[0][0] == word[0]:
            return self.phrases[found[0]], found[0], float(found[1])
        return None

    def suggest(self, words: Iterable[str], limit: int = 4) -> tuple[str, ...]:
        """Offences to offer for words we do not know: related categories, then close spellings."""
        from rapidfuzz import fuzz, process

        keys: list[str] = []
        for word in words:
            keys.extend(RELATED.get(word, ()))
            if len(word) >= 4:
                for phrase, _, _ in process.extract(word, self.words, scorer=fuzz.ratio,
                                                    limit=3, score_cutoff=72):
                    keys.append(self.phrases[phrase])
        return tuple(dict.fromkeys(k for k in keys if k))[:limit]


_CATALOGUE_INDEX: OffenceIndex | None = None

# Words a description of an offence may use that say nothing about which offence it is.
DESCRIPTION_FILLER = frozenset({
    "a", "an", "and", "or", "of", "the", "by", "from", "caused", "causing", "involving", "to",
    "with", "in", "on", "for", "selected", "total", "offence", "offences", "crime", "crimes",
    "other", "all", "due", "through", "because", "excluding", "including", "any", "number",
})


def _stem(word: str) -> str:
    """A crude singular ("injuries" → "injury", "deaths" → "death"), applied to both sides."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        return word[:-1]
    return word


def catalogue_index() -> OffenceIndex:
    """The index of the catalogue's own phrases, built once (no store needed)."""
    global _CATALOGUE_INDEX
    if _CATALOGUE_INDEX is None:
        _CATALOGUE_INDEX = OffenceIndex()
    return _CATALOGUE_INDEX


def parse_offence(text: str) -> tuple[str | None, str, str]:
    """(offence key, the words that named it, the text without them), catalogue phrases only.
    A word one slip from an offence word is respelt first, and kept only where it then names
    the offence ("highest vilent crime rate" is violence, not the "crime rate" of all crime)."""
    index = catalogue_index()
    respelt, said = text, ""
    for word in re.findall(r"[a-z]{5,}", text):
        if word in FILLER or word in index.vocabulary:
            continue
        fixed = index.respell(word)
        if fixed is not None:
            trial = re.sub(rf"\b{re.escape(word)}\b", fixed, respelt)
            key, phrase, _ = index.find(trial)
            if key and fixed in phrase.split() and phrase not in GENERIC_WORDS:
                respelt, said = trial, word
    key, phrase, (start, end) = index.find(respelt)
    if key is not None:
        return key, said or phrase, (respelt[:start] + " " + respelt[end:]).strip()
    for word in re.findall(r"[a-z][a-z'-]{4,}", text):
        if word in FILLER:
            continue
        found = index.fuzzy(word)
        if found:
            return found[0], word, re.sub(rf"\b{re.escape(word)}\b", " ", text)
    return None, "", text
