"""Printed areas → stable area codes: what the lookups say a CSP code names, and the areas table.

The files are sloppy with codes (a code printed against the wrong place, a renamed CSP, a force
printed by name only), so every printed area is checked against the lookups before its figures
are filed: a code printed against the wrong place is filed by the place, not merged.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.places import KIND_BY_PREFIX, NATIONAL_NAME, name_key
from bot.readers.common import Edition, LookupRow, Observation, slug

LA_CODE = re.compile(r"^(E06|E07|E08|E09|W06)\d{6}$")
GSS_CODE = re.compile(r"^[EWKNS]\d{8}$")


@dataclass
class Area:
    code: str
    name: str
    kind: str
    force_code: str | None
    offered: bool
    former_names: set[str] = field(default_factory=set)
    note: str | None = None


# --- reconciling areas ---------------------------------------------------------------------


class Geography:
    """What the lookups say, used to decide whether a printed CSP code really names that place."""

    def __init__(self, lookups: Iterable[LookupRow]) -> None:
        self.rows = list(lookups)
        self.names: dict[str, set[str]] = defaultdict(set)
        self.las_of_csp: dict[tuple[int, str], set[str]] = defaultdict(set)
        self.csps_of_la: dict[tuple[int, str], set[str]] = defaultdict(set)
        self.forces: dict[str, str] = {}
        for row in self.rows:
            self.names[row.csp_code].add(name_key(row.csp_name))
            self.las_of_csp[row.year, row.csp_code].add(row.la_code)
            self.csps_of_la[row.year, row.la_code].add(row.csp_code)
            self.forces.setdefault(name_key(row.force_name), row.force_code)
        self.years = sorted({row.year for row in self.rows})

    def same_place(self, code: str, name: str, la_code: str) -> bool:
        """True when the printed code belongs to the printed place (allowing a renamed CSP).

        A rename (Shepway → Folkestone and Hythe) keeps its single local authority; a reused
        code (Stroud's code printed for West Northamptonshire) does not.
        """
        if code not in self.names or name_key(name) in self.names[code]:
            return True
        return any(
            self.las_of_csp.get((year, code)) == {la_code}
            and self.csps_of_la.get((year, la_code)) == {code}
            for year in self.years
        )


class Areas:
    """Turns each observation's printed area into one stable area code."""

    def __init__(self, geography: Geography, observations: list[tuple[Edition, Observation]]):
        self.geography = geography
        self.areas: dict[str, Area] = {}
        self.notes: list[str] = []
        self.force_by_name: dict[str, str] = dict(geography.forces)
        for _, obs in observations:
            if obs.force_code[:3] in {"E23", "W15"} and obs.force_name:
                self.force_by_name.setdefault(name_key(obs.force_name), obs.force_code)
        self._seen_conflicts: set[tuple[str, str]] = set()

    def force_code(self, name: str) -> str | None:
        return self.force_by_name.get(name_key(name)) or self.force_by_name.get(
            name_key(re.sub(r"\bpolice\b", "", name, flags=re.I)))

    def _add(self, code: str, name: str, kind: str, force: str | None, *, offered: bool = True,
             newer: bool = True, note: str | None = None) -> str:
        area = self.areas.get(code)
        if area is None:
            self.areas[code] = Area(code, name, kind, force, offered, note=note)
        elif name_key(area.name) != name_key(name):
            if newer:
                area.former_names.add(area.name)
                area.name = name
            else:
                area.former_names.add(name)
        return code

    def resolve(self, obs: Observation, newer: bool, where: str) -> str:
        if obs.level == "csp":
            return self._csp(obs, newer, where)
        code = obs.code
        if not code:
            forced = self.force_code(obs.name)
            if forced:
                code = forced
            else:
                code = f"x-{slug(obs.name)}"
                offered = "british transport" in obs.name.lower()
                return self._add(code, obs.name, "other", None, offered=offered, newer=newer)
        kind = KIND_BY_PREFIX.get(code[:3], "other")
        name = NATIONAL_NAME if kind == "england_and_wales" else obs.name
        if kind == "country":
            name = name.title()
        return self._add(code, name, kind, code if kind == "pfa" else None, newer=newer)

    def _csp(self, obs: Observation, newer: bool, where: str) -> str:
        force = obs.force_code or self.force_code(obs.force_name)
        if obs.name.lower().startswith("unassigned"):
            owner = obs.name[len("unassigned"):].strip()
            force = self.force_code(owner) or force
            return self._add(f"unassigned-{force or slug(owner)}", f"Unassigned ({owner})",
                             "unassigned", force, offered=False, newer=newer)
        if not obs.code:
            return self._add(f"x-{slug(obs.name)}", obs.name, "other", force, newer=newer)
        if GSS_CODE.match(obs.code) and self.geography.same_place(obs.code, obs.name, obs.la_code):
            return self._add(obs.code, obs.name, "csp", force, newer=newer)
        if LA_CODE.match(obs.la_code):
            code = obs.la_code
            whose = ("which the lookups give to another place" if GSS_CODE.match(obs.code)
                     else "which is not an area code")
            why = (f"{where}: {obs.name} is printed with CSP code {obs.code!r}, {whose}; "
                   f"filed under its local authority code {code}")
        else:
            code = f"{obs.code}-{slug(obs.name)}"
            why = f"{where}: {obs.name} is printed with code {obs.code!r}; filed as {code}"
        if (obs.code, obs.name) not in self._seen_conflicts:
            self._seen_conflicts.add((obs.code, obs.name))
            self.notes.append(why)
        return self._add(code, obs.name, "csp", force, newer=newer,
                         note=f"ONS printed the code {obs.code!r} for this area")
