"""The offence catalogue: one place that knows ONS offence groups, newsroom words and caveats.

Ingest uses it to give every column or row label a stable key; understanding uses it to turn
"sex crimes" into `sexual`; the answer uses it for the caveat. Keeping the three together means a
new label in next quarter's tables is one line here, not a hunt through three modules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.style import NOTE_MARK


@dataclass(frozen=True)
class Offence:
    """An ONS offence group or subgroup as the bot knows it.

    `level` says where ONS publishes it: "local" groups appear in the CSP tables, "force" ones
    only at police force area level, "national" ones only for England and Wales.
    """

    key: str
    label: str
    parent: str | None
    ons_labels: tuple[str, ...]
    words: tuple[str, ...] = ()
    caveat: str = "general"
    level: str = "local"
    plural: str = field(default="")

    @property
    def noun(self) -> str:
        """The phrase used in a sentence: "536 sexual offences"."""
        return self.plural or self.label[0].lower() + self.label[1:]


CATALOGUE: tuple[Offence, ...] = (
    Offence(
        "all_crime", "Total recorded crime (excluding fraud)", None,
        ("total recorded crime (excluding fraud)", "total recorded crime",
         "total recorded crime - all offences excluding fraud and computer misuse"),
        ("all crime", "total crime", "overall crime", "recorded crime", "crime rate",
         "all offences", "all crimes", "total recorded crime", "crime overall"),
        plural="crimes (excluding fraud)",
    ),
    Offence(
        "violence", "Violence against the person", "all_crime",
        ("violence against the person", "total violence against the person"),
        ("violent crime", "violent crimes", "violence", "vatp", "violent offences", "assaults"),
        caveat="violence", plural="violence against the person offences",
    ),
    Offence("homicide", "Homicide", "violence", ("homicide",),
            ("homicides", "killings"),
            plural="homicides"),
    Offence(
        "death_driving", "Death or serious injury caused by unlawful driving", "violence",
        ("death or serious injury caused by illegal driving",
         "death or serious injury - unlawful driving"),
        ("death by dangerous driving", "dangerous driving deaths", "unlawful driving"),
        plural="offences of death or serious injury by unlawful driving",
    ),
    Offence("violence_with_injury", "Violence with injury", "violence",
            ("violence with injury",),
            ("violence with injury", "assault with injury", "gbh", "abh"),
            caveat="violence", plural="violence with injury offences"),
    Offence("violence_without_injury", "Violence without injury", "violence",
            ("violence without injury",),
            ("violence without injury", "assault without injury", "common assault"),
            caveat="violence", plural="violence without injury offences"),
    Offence("stalking_harassment", "Stalking and harassment", "violence",
            ("stalking and harassment",),
            ("stalking and harassment", "stalking harassment"),
            caveat="violence", plural="stalking and harassment offences"),
    Offence(
        "sexual", "Sexual offences", "all_crime",
        ("sexual offences", "total sexual offences"),
        ("sex crimes", "sex crime", "sexual crimes", "sexual crime", "sex offences",
         "sexual offences", "sexual offence", "sex offence", "sexual assaults", "sexual assault",
         "sexual violence"),
        caveat="sexual",
    ),
    Offence("rape", "Rape", "sexual", ("rape",), ("rape", "rapes"), caveat="sexual",
            level="national", plural="rapes"),
    Offence("other_sexual", "Other sexual offences", "sexual", ("other sexual offences",),
            ("other sexual offences",), caveat="sexual", level="national"),
    Offence("robbery", "Robbery", "all_crime", ("robbery", "total robbery"),
            ("robbery", "robberies", "muggings", "mugging"), caveat="acquisitive",
            plural="robberies"),
    Offence("theft", "Theft offences", "all_crime", ("theft offences", "total theft offences"),
            ("theft", "thefts", "stealing", "theft offences"), caveat="acquisitive"),
    Offence("burglary", "Burglary", "theft", ("burglary",),
            ("burglary", "burglaries", "break-ins", "break ins", "break-in", "break in",
             "housebreaking", "burgled"),
            caveat="burglary", plural="burglaries"),
    Offence("residential_burglary", "Residential burglary", "burglary",
            ("residential burglary",),
            ("residential burglary", "residential burglaries", "home burglaries",
             "house burglaries", "domestic burglaries", "domestic burglary", "home break-ins"),
            caveat="burglary", plural="residential burglaries"),
    Offence("non_residential_burglary", "Non-residential burglary", "burglary",
            ("non-residential burglary",),
            ("non-residential burglary", "non residential burglary", "business burglaries",
             "commercial burglaries", "shed break-ins"),
            caveat="burglary", plural="non-residential burglaries"),
    Offence("domestic_burglary", "Domestic burglary (pre-2017 category)", "burglary",
            ("domestic burglary",), (), caveat="burglary", level="force",
            plural="domestic burglaries (pre-2017 category)"),
    Offence("non_domestic_burglary", "Non-domestic burglary (pre-2017 category)", "burglary",
            ("non-domestic burglary",), (), caveat="burglary", level="force",
            plural="non-domestic burglaries (pre-2017 category)"),
    Offence("vehicle", "Vehicle offences", "theft", ("vehicle offences",),
            ("car crime", "car crimes", "vehicle crime", "vehicle offences", "car theft",
             "car thefts", "vehicle theft", "stolen cars", "theft from vehicles"),
            caveat="acquisitive"),
    Offence("theft_person", "Theft from the person", "theft", ("theft from the person",),
            ("theft from the person", "pickpocketing", "pickpockets", "snatch theft",
             "phone snatching"),
            caveat="acquisitive", plural="thefts from the person"),
    Offence("bicycle", "Bicycle theft", "theft", ("bicycle theft",),
            ("bicycle theft", "bike theft", "bike thefts", "bicycle thefts", "cycle theft",
             "stolen bikes"),
            caveat="acquisitive", plural="bicycle thefts"),
    Offence("shoplifting", "Shoplifting", "theft", ("shoplifting",),
            ("shoplifting", "shoplifters", "shop theft", "retail crime", "shop lifting"),
            caveat="shoplifting", plural="shoplifting offences"),
    Offence("other_theft", "All other theft offences", "theft",
            ("all other theft offences", "other theft offences"),
            ("other theft", "other thefts", "all other theft"), caveat="acquisitive"),
    Offence("criminal_damage", "Criminal damage and arson", "all_crime",
            ("criminal damage and arson", "total criminal damage and arson"),
            ("criminal damage", "vandalism", "criminal damage and arson", "graffiti"),
            caveat="acquisitive", plural="criminal damage and arson offences"),
    Offence("drugs", "Drug offences", "all_crime", ("drug offences", "total drug offences"),
            ("drugs", "drug offences", "drug crime", "drug crimes", "drug offence",
             "drugs crime", "drugs offences"),
            caveat="enforcement"),
    Offence("weapons", "Possession of weapons offences", "all_crime",
            ("possession of weapons offences", "total possession of weapons offences"),
            ("weapons", "weapon offences", "weapons offences", "possession of weapons",
             "carrying weapons", "weapon possession", "weapons possession",
             "possession of a weapon", "offensive weapons"),
            caveat="enforcement"),
    Offence("public_order", "Public order offences", "all_crime",
            ("public order offences", "total public order offences"),
            ("public order", "public order offences", "disorder", "affray"),
            caveat="general"),
    Offence("misc", "Miscellaneous crimes against society", "all_crime",
            ("miscellaneous crimes against society", "miscellaneous crimes",
             "total miscellaneous crimes against society"),
            ("miscellaneous crimes", "miscellaneous crimes against society", "other crimes", "misc",
             "misc crimes", "misc crime", "misc offences"),
            plural="miscellaneous crimes against society"),
    Offence("knife", "Selected serious offences involving a knife or sharp instrument", None,
            ("total of selected serious offences involving a knife",),
            ("knife crime", "knife crimes", "knife offences", "stabbings", "knives",
             "knife attacks", "blade crime"),
            caveat="knife", level="force",
            plural="selected serious offences involving a knife or sharp instrument"),
    Offence("firearms", "Offences involving firearms (excluding conventional air weapons)",
            None, ("offences involving firearms",),
            ("gun crime", "gun crimes", "gun offences", "firearms offences", "firearm offences",
             "offences involving firearms", "firearms crime", "shootings", "gun violence"),
            caveat="firearms", level="force",
            plural="offences involving firearms (excluding conventional air weapons)"),
    Offence("fraud", "Fraud and computer misuse", None,
            ("total fraud and computer misuse offences", "fraud offences"),
            ("fraud", "frauds", "scams", "scam", "computer misuse", "cyber crime", "cybercrime",
             "online fraud"),
            caveat="fraud", level="national", plural="fraud and computer misuse offences"),
)

BY_KEY: dict[str, Offence] = {o.key: o for o in CATALOGUE}

# Words that name crime in general. They mean total recorded crime only when nothing else in the
# question could be an offence: "gun crime Leeds" is an offence we do not know, not all crime.
GENERIC_WORDS = frozenset({"crime", "crimes", "offences", "offence", "incidents", "criminal",
                           "crime figures", "crime stats", "crime statistics"})

# Newsroom words for the finer ONS categories the appendix tables hold for England and Wales
# (keys as ingest names them from the offence codes). Where a finer category is not held for an
# area, the answer climbs to the group that contains it and says so.
OFFENCE_ALIASES: dict[str, str] = {
    "stalking": "8q-stalking", "harassment": "8l-harassment",
    "malicious communications": "8r-malicious-communication",
    "coercive control": "8u-controlling-and-coercive-behaviour",
    "coercive and controlling behaviour": "8u-controlling-and-coercive-behaviour",
    "controlling behaviour": "8u-controlling-and-coercive-behaviour",
    "controlling and coercive behaviour": "8u-controlling-and-coercive-behaviour",
    "arson": "arson", "arson attacks": "arson",
    "cannabis possession": "92e-possession-of-cannabis",
    "possession of cannabis": "92e-possession-of-cannabis",
    "cannabis": "92e-possession-of-cannabis",
    "drug possession": "possession-of-drugs", "possession of drugs": "possession-of-drugs",
    "drug dealing": "trafficking-of-drugs", "drug trafficking": "trafficking-of-drugs",
    "modern slavery": "106-modern-slavery", "slavery": "106-modern-slavery",
    "murder": "1-murder", "murders": "1-murder",
    "attempted murder": "2-attempted-murder",
    "manslaughter": "4-1-manslaughter",
    "threats to kill": "3b-threats-to-kill",
    "blackmail": "35-blackmail", "kidnapping": "36-kidnapping", "kidnap": "36-kidnapping",
    "sexual grooming": "88a-sexual-grooming", "grooming": "88a-sexual-grooming",
    "exposure": "88e-exposure-and-voyeurism", "voyeurism": "88e-exposure-and-voyeurism",
    "handling stolen goods": "54-handling-stolen-goods",
    "making off without payment": "49a-making-off-without-payment",
    "theft from a vehicle": "45-theft-from-a-vehicle",
    "dangerous driving": "802-dangerous-driving",
    "hate crime": "", "domestic abuse": "", "domestic violence": "", "antisocial behaviour": "",
    "anti social behaviour": "", "asb": "",
}

# Words with no ONS category of their own, and the categories worth offering instead.
RELATED: dict[str, tuple[str, ...]] = {
    "hate": ("8m-racially-or-religiously-aggravated-harassment", "public_order", "violence"),
    "domestic": ("violence", "8u-controlling-and-coercive-behaviour", "residential_burglary"),
    "antisocial": ("public_order", "criminal_damage"),
    "asb": ("public_order", "criminal_damage"),
    "assault": ("violence_with_injury", "violence_without_injury", "violence"),
    "car": ("vehicle", "48-theft-or-unauthorised-taking-of-a-motor-vehicle"),
    "sexual": ("sexual", "rape", "other_sexual"),
    "sex": ("sexual", "rape", "other_sexual"),
    "drug": ("drugs", "possession-of-drugs", "trafficking-of-drugs"),
    "theft": ("theft", "other_theft", "shoplifting"),
}



def clean_label(text: object) -> str:
    """Normalise a table label: no "[note n]" markers, no line breaks, single spaces, lower case.

    ONS headers wrap lines and append note markers differently in each edition; comparing
    cleaned labels is what lets next quarter's workbook load without code changes.
    """
    text = NOTE_MARK.sub(" ", str(text))
    text = text.replace("–", "-").replace("excludinging", "excluding")
    return re.sub(r"\s+", " ", text).strip().lower()


_BY_LABEL: dict[str, str] = {
    clean_label(label): o.key for o in CATALOGUE for label in o.ons_labels
}


_NAMES = frozenset(part for o in CATALOGUE
                   for part in re.split(r" and |\s*\(", clean_label(o.label)) if part)
_INCLUDING = re.compile(r"\s*\(including [^)]*\)$")


def key_for_label(label: object) -> str | None:
    """The catalogue key of an ONS column or row label, or None when we do not know it.

    A label that only adds what the category includes ("Residential burglary (including home
    and nonconnected buildings)", the 2025 appendix) is the same series relabelled: it takes
    the plain label's key, so the newest edition's figures replace the older ones.
    """
    cleaned = clean_label(label)
    found = _BY_LABEL.get(cleaned)
    if found or not _INCLUDING.search(cleaned):
        return found
    included = _INCLUDING.search(cleaned).group(0)  # type: ignore[union-attr]
    if any(re.search(rf"\b{re.escape(name)}\b", included) for name in _NAMES):
        return None  # "(including fraud)" adds another offence: a different total
    return _BY_LABEL.get(_INCLUDING.sub("", cleaned))


CAVEATS: dict[str, str] = {
    "general": (
        "Police recorded crime counts crimes reported to and recorded by the police, so it "
        "reflects reporting and recording as well as crime; it has not been accredited official "
        "statistics since 2014, and better recording since then has pushed figures up. For most "
        "offences the Crime Survey for England and Wales is the better guide to trends."
    ),
    "sexual": (
        "Rises in sexual offences can reflect better recording by police and more victims coming "
        "forward, including after high-profile cases, rather than more offences; ONS urges "
        "caution in interpreting them."
    ),
    "violence": (
        "Improvements in recording, especially of harassment and malicious communications, drove "
        "much of the recent rise in recorded violence."
    ),
    "enforcement": (
        "Drug and weapons possession figures depend heavily on police activity such as stop and "
        "search and operations, so they measure enforcement more than how common the offence is."
    ),
    "acquisitive": (
        "Theft, robbery, vehicle offences and criminal damage are generally well reported and "
        "recorded, so recorded trends are more reliable for these offences."
    ),
    "burglary": (
        "Burglary is generally well reported and recorded; its categories changed in April 2017 "
        "(residential and non-residential), so older local figures are not directly comparable."
    ),
    "shoplifting": (
        "Shoplifting figures depend on retailers reporting offences to the police."
    ),
    "knife": (
        "Knife crime is a separate ONS measure of selected serious offences involving a knife or "
        "sharp instrument, published for police force areas, not for local areas."
    ),
    "firearms": (
        "Offences involving firearms are a separate ONS measure, published for police force "
        "areas, not for local areas; they exclude conventional air weapons."
    ),
    "fraud": (
        "Fraud is now recorded centrally, by Action Fraud and industry bodies, not by police "
        "forces: local figures exist only for the years before forces passed it to Action "
        "Fraud, and national figures since then are the central bodies' own."
    ),
}

LOCAL_CAUTION = (
    "Local counts can be small and volatile; treat year-to-year changes in small numbers with "
    "caution."
)


def caveat_for(key: str, parents: Mapping[str, str | None] | None = None) -> str:
    """The offence-specific caveat (the general one is added separately, once per reply).

    A finer ONS category (possession of cannabis, stalking, arson, rape of a female aged 16 or
    over) carries the caveat of the first group above it in the store's offence table
    (`parents`: key → parent key), so a category ingest names from next quarter's appendix is
    qualified like its group without a line here."""
    seen: set[str] = set()
    step: str | None = key
    while step is not None and step not in BY_KEY and step not in seen:
        seen.add(step)
        step = (parents or {}).get(step)
    offence = BY_KEY.get(step) if step else None
    name = offence.caveat if offence else "general"
    return CAVEATS.get(name, CAVEATS["general"]) if name != "general" else ""
