"""The words of a question once folded (`bot.places.normalise`): tokens and filler.

The lowest layer of understanding, shared by the gazetteer, the offence index, the whole
question's parse and rankings, so it imports nothing of ours: which words name nothing
("how many", "please", "police") is decided once for places and offences alike.
"""

from __future__ import annotations

import re

TOKEN = re.compile(r"[a-z0-9']+")

FILLER = {
    "a", "about", "across", "and", "any", "are", "area", "at", "been", "by", "can", "count",
    "crimebot", "data", "did", "do", "does", "figure", "figures", "for", "from", "give", "got",
    "has", "have", "hi", "how", "i", "in", "is", "it", "many", "me", "much", "number", "numbers",
    "of", "on", "please", "rate", "rates", "recorded", "reported", "show", "stats", "statistics",
    "tell", "the", "there", "to", "total", "was", "were", "what", "whats", "what's", "where",
    "which", "with", "within", "you", "level", "levels", "ons", "per", "people", "1000",
    "police", "constabulary", "force", "council", "borough", "district", "csp", "ua", "pfa",
    "local", "authority", "area's", "compare", "comparison", "change", "trend", "up", "down",
    "year", "years", "12", "months", "month", "ending", "latest", "now", "current", "recent",
    "most", "last", "previous", "this", "financial", "fy", "so", "far", "far?", "chart",
    "happened", "happen", "committed", "reports", "incidents", "offences", "crimes", "crime",
    "offence", "thanks", "thank", "cheers", "pls", "hey", "hello", "quick", "question", "q",
    "rising", "falling", "risen", "fallen", "gone", "going", "increase", "increased", "decrease",
    "decreased", "higher", "lower", "worse", "better", "trends", "since", "than", "between",
    "over", "under", "time", "ago", "versus", "vs", "v", "or", "an", "its", "their", "all",
    "police's", "overall", "could", "would", "should", "get", "see", "know", "want", "need",
    "like", "some", "still", "rise", "fall", "fell", "rose", "went", "go", "compared",
    "against", "stat", "statistic", "nos", "no", "vs.", "v.", "yes", "ok", "okay",
    "cops", "officers", "record", "records", "highest", "lowest", "ever", "x",
}


def word_spans(text: str) -> list[re.Match[str]]:
    """Word tokens with their positions; hyphens split words ("non-residential")."""
    return list(TOKEN.finditer(text.replace("-", " ")))

