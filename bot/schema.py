"""The store's tables, keys, indexes and view, and the one way rows are written into them.

One declaration read by the writer (`bot.ingest`) and by nothing on the answer path, which
reads with plain SQL (`bot.store`); bump SCHEMA_VERSION with `bot.store.SCHEMA_VERSIONS`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import sqlite_utils

SCHEMA_VERSION = "5"

SCHEMA: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "meta": ({"key": "TEXT", "value": "TEXT"}, ("key",)),
    "editions": ({"key": "TEXT", "title": "TEXT", "dataset": "TEXT", "period_end": "TEXT",
                  "published": "TEXT", "file": "TEXT", "sha256": "TEXT", "page": "TEXT",
                  "released": "TEXT", "source_url": "TEXT", "fetched_at": "TEXT"}, ("key",)),
    "areas": ({"code": "TEXT", "name": "TEXT", "kind": "TEXT", "force_code": "TEXT",
               "offered": "INTEGER", "note": "TEXT"}, ("code",)),
    "area_names": ({"name": "TEXT", "code": "TEXT", "source": "TEXT"}, ("name", "code")),
    "ingest_notes": ({"note": "TEXT"}, ()),
    "offences": ({"key": "TEXT", "label": "TEXT", "parent": "TEXT", "level": "TEXT",
                  "ons_code": "TEXT"}, ("key",)),
    # Row and column headings as printed, each stored once (a heading labels many cells).
    "labels": ({"id": "INTEGER", "label": "TEXT"}, ("id",)),
    # Where an edition printed a figure: the cell a reporter opens to check it, or for a total
    # a reader added up, the cells it sums.
    "sources": ({"id": "INTEGER", "edition": "TEXT", "sheet": "TEXT", "cell": "TEXT",
                 "row_label": "INTEGER", "column_label": "INTEGER", "cells": "TEXT"}, ("id",)),
    "figures": ({"area": "TEXT", "offence": "TEXT", "period_end": "TEXT", "count": "INTEGER",
                 "edition": "TEXT", "rate": "FLOAT", "rate_basis": "TEXT",
                 "rate_edition": "TEXT", "flag": "TEXT", "source": "INTEGER",
                 "rate_source": "INTEGER"}, ("area", "offence", "period_end")),
    "revisions": ({"area": "TEXT", "offence": "TEXT", "period_end": "TEXT", "edition": "TEXT",
                   "count": "INTEGER", "source": "INTEGER"},
                  ("area", "offence", "period_end", "edition")),
    "notes": ({"edition": "TEXT", "area": "TEXT", "offence": "TEXT", "period_from": "TEXT",
               "period_to": "TEXT", "text": "TEXT", "kind": "TEXT"}, ()),
    "breaks": ({"area": "TEXT", "offence": "TEXT", "starts": "TEXT", "reason": "TEXT",
                "edition": "TEXT"}, ()),
    "local_authorities": ({"code": "TEXT", "name": "TEXT", "csp_code": "TEXT",
                           "force_code": "TEXT", "year": "INTEGER"},
                          ("code", "csp_code", "year")),
    "population": ({"code": "TEXT", "year": "INTEGER", "people": "INTEGER", "basis": "TEXT",
                    "edition": "TEXT", "sheet": "TEXT", "cell": "TEXT"}, ("code", "year")),
    # The name indexes (`bot.indexes`), in the order they were built: the gazetteer's name keys,
    # every offence phrase, and the newest lookup year of each local authority's name key.
    "place_names": ({"name": "TEXT", "code": "TEXT", "source": "TEXT"}, ()),
    "offence_phrases": ({"phrase": "TEXT", "offence": "TEXT", "label": "INTEGER"}, ()),
    "la_keys": ({"key": "TEXT", "year": "INTEGER"}, ()),
}
# Figures point at their area, offence and edition, so sqlite-utils and Datasette can follow
# (and label) them; codes from the lookups and population files are not all areas, so no keys.
_FIGURE_KEYS = (("area", "areas", "code"), ("offence", "offences", "key"),
                ("edition", "editions", "key"))
FOREIGN_KEYS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "area_names": (("code", "areas", "code"),),
    "sources": (("edition", "editions", "key"), ("row_label", "labels", "id"),
                ("column_label", "labels", "id")),
    "figures": (*_FIGURE_KEYS, ("rate_edition", "editions", "key"), ("source", "sources", "id"),
                ("rate_source", "sources", "id")),
    "revisions": (*_FIGURE_KEYS, ("source", "sources", "id")),
    "notes": (("edition", "editions", "key"), ("area", "areas", "code")),
    "population": (("edition", "editions", "key"),),
}
# The big keyed tables are stored in key order (no separate rowid b-tree).
WITHOUT_ROWID = frozenset({"figures", "revisions"})
INDEXES = (("figures", ("offence", "period_end")), ("figures", ("edition",)),
           ("areas", ("kind",)), ("local_authorities", ("name",)), ("notes", ("area",)))
# One row per figure with every code spelled out, for `sqlite-utils`, Datasette and exports.
FIGURES_LABELLED = """
select f.area as area_code, a.name as area, a.kind as area_kind, force.name as force,
       f.offence as offence_key, o.label as offence, f.period_end, f.count, f.rate,
       f.rate_basis, f.flag, e.title as edition, e.file, s.sheet, s.cell,
       rl.label as row_label, cl.label as column_label, s.cells, re.file as rate_file,
       r.sheet as rate_sheet, r.cell as rate_cell, e.page
from figures f
join areas a on a.code = f.area
left join areas force on force.code = a.force_code
join offences o on o.key = f.offence
join editions e on e.key = f.edition
left join sources s on s.id = f.source
left join labels rl on rl.id = s.row_label
left join labels cl on cl.id = s.column_label
left join sources r on r.id = f.rate_source
left join editions re on re.key = r.edition
"""


def insert(conn: sqlite3.Connection, table: str, rows: Iterable[tuple | dict]) -> None:
    """Plain executemany: the store is a few tables of plain rows, no library needed."""
    columns = list(SCHEMA[table][0])
    marks = ", ".join("?" for _ in columns)
    conn.executemany(
        f"insert into [{table}] values ({marks})",
        ((tuple(r[c] for c in columns) if isinstance(r, dict) else r) for r in rows))



def create_tables(db: sqlite_utils.Database) -> None:
    """Every table from SCHEMA, with its keys, in the SQL sqlite-utils writes for it."""
    for table, (columns, pk) in SCHEMA.items():
        sql = db.create_table_sql(table, columns, pk=pk or None,
                                  foreign_keys=FOREIGN_KEYS.get(table, ()))
        if table in WITHOUT_ROWID:
            sql = sql.rstrip().rstrip(";").rstrip() + " WITHOUT ROWID"
        db.execute(sql)
