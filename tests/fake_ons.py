"""A fake ONS website on 127.0.0.1: the shipped files behind ONS-shaped pages, in both shapes.

The `/data` JSON views: dataset landing pages list editions (`datasets: [{uri}]`), edition pages
list `downloads`, `description.releaseDate` and `versions`. The HTML pages, as the live site
serves them: a landing page showing the current edition's release date and downloads and
linking to the edition pages, and edition pages with "Release date: 24 April 2025", their
`/file?uri=<edition uri>/<file>` download links and links to `previous/vN/` versions.
`/file?uri=<edition uri>/<file>` serves the bytes (with Range, as ONS does).

`views` says per dataset what its `/data` view does: "json", "gone" (404), "html" (the HTML
page served in its place), "redirect" (a 302 to the HTML page) or "other json" (JSON of a
shape that lists no editions). `landing` says whether a
landing page links every edition ("all") or the current one only ("current"). `reshaped`
datasets have pages with no links under their own path, as a redesigned site might. Tests add
editions, break one, truncate a download or publish a correction while it runs, like ONS
between two nightly fetches.
"""

from __future__ import annotations

import asyncio
import html
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from aiohttp import web

from bot.sources import DATASETS

# Which dataset and edition each shared file belongs to, as ONS files them.
EDITIONS: dict[str, tuple[str, str, str]] = {
    "policeforceareatablesyearendingmarch2018v2.xlsx": ("pfa", "yearendingmarch2018",
                                                        "2018-07-19"),
    "policeforceareatablesyearendingsep18corrected.xlsx": ("pfa", "yearendingseptember2018",
                                                           "2019-01-24"),
    "policeforceareatablesyeendingmarch2019.xlsx": ("pfa", "yearendingmarch2019", "2019-07-18"),
    "pfatablesdec19.xlsx": ("pfa", "yearendingdecember2019", "2020-04-23"),
    "policeforceareatablesyedecember2024.xlsx": ("pfa", "yearendingdecember2024", "2025-04-24"),
    "policeforceareatablesyejune25final.csv": ("pfa", "yearendingjune2025", "2025-10-23"),
    "ons_csp_recorded_crime_ye_dec2022.xlsx": ("csp", "yearendingdecember2022", "2023-04-27"),
    "ons_source_crime_data.xlsx": ("appendix", "yearendingseptember2022", "2023-01-26"),
    "appendixtablesyejune2025.xlsx": ("appendix", "yearendingjune2025", "2025-10-23"),
    "rec-crime-pfa.csv": ("pfa-series", "current", "2019-04-25"),
    "LAD23_Mid_Year_pop_2011_to_2023.xlsx": ("population", "mid2023", "2024-07-15"),
    "ons_mid2022_population_estimates_lad.xlsx": ("population", "mid2022", "2023-11-23"),
}
LOOKUPS = (
    "Local_Authority_District_to_CSPs_to_Police_Force_Areas_(December__2023)_Lookup_.csv",
    "Local_Authority_District_to_Community_Safety_Partnerships_to_Police_Force_Areas__"
    "January_2017__Lookup_in_England_and_Wales_Version_2.csv",
)


View = Literal["json", "gone", "html", "redirect", "other json"]


@dataclass
class Edition:
    uri: str
    release: str
    files: dict[str, bytes] = field(default_factory=dict)
    versions: list[dict] = field(default_factory=list)
    missing: bool = False
    view_gone: bool = False  # its /data view answers 404; its HTML page stays


class FakeONS:
    """Serve `sources` like ONS; mutate `editions`, `truncate` and `lookups` between fetches."""

    def __init__(self, sources: Path, *, leave_out: tuple[str, ...] = (),
                 views: View = "json") -> None:
        self.sources = sources
        self.views: dict[str, View] = dict.fromkeys(DATASETS, views)
        self.landing: dict[str, Literal["all", "current"]] = dict.fromkeys(DATASETS, "all")
        self.reshaped: set[str] = set()
        self.editions: dict[str, Edition] = {}
        self.datasets: dict[str, list[str]] = {name: [] for name in DATASETS}
        for name, (dataset, edition, release) in EDITIONS.items():
            if name not in leave_out:
                self.add(name, dataset, edition, release)
        self.lookups = {name: (sources / name).read_bytes() for name in LOOKUPS}
        self.truncate: set[str] = set()
        self.requests: list[str] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    def add(self, name: str, dataset: str, edition: str, release: str) -> None:
        uri = f"{DATASETS[dataset]}/{edition}"
        if uri not in self.editions:
            self.editions[uri] = Edition(uri, release)
            self.datasets[dataset].append(uri)
        self.editions[uri].files[name] = (self.sources / name).read_bytes()

    def edition_of(self, name: str) -> Edition:
        return next(e for e in self.editions.values() if name in e.files)

    def correct(self, name: str, content: bytes, when: str) -> None:
        """Publish a correction under the same file name, as ONS does (a new `versions` entry)."""
        edition = self.edition_of(name)
        edition.versions.append({"uri": f"{edition.uri}/previous/v{len(edition.versions) + 1}",
                                 "updateDate": when, "correctionNotice": "Corrected."})
        edition.files[name] = content

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def lookup_urls(self) -> str:
        return " ".join(f"{self.base}/lookups/{name}" for name in self.lookups)

    # --- HTTP ------------------------------------------------------------------------------

    def _dataset_at(self, path: str) -> str | None:
        return next((dataset for dataset, uri in DATASETS.items() if path == uri), None)

    async def _page(self, request: web.Request) -> web.Response:
        path = request.path.removesuffix("/data")
        self.requests.append(request.path_qs)
        dataset = self._dataset_at(path) or next(
            (d for d, editions in self.datasets.items() if path in editions), None)
        view = self.views.get(dataset, "json") if dataset else "json"
        if view == "gone":
            raise web.HTTPNotFound()
        if view == "redirect":
            raise web.HTTPFound(path)
        if view == "html":
            return self._html_page(path)
        if view == "other json":
            return web.json_response({"type": "static_landing_page", "sections": []})
        if dataset is not None and path == DATASETS[dataset]:
            return web.json_response({"type": "dataset_landing_page", "datasets": [
                {"uri": e} for e in self.datasets[dataset]]})
        edition = self.editions.get(path)
        if edition is None or edition.missing or edition.view_gone:
            raise web.HTTPNotFound()
        return web.json_response({
            "type": "dataset", "uri": edition.uri,
            "description": {"releaseDate": f"{edition.release}T09:30:00.000Z"},
            "downloads": [{"file": name} for name in edition.files],
            "versions": edition.versions})

    async def _html(self, request: web.Request) -> web.Response:
        self.requests.append(request.path_qs)
        return self._html_page(request.path.rstrip("/"))

    def _html_page(self, path: str) -> web.Response:
        """The HTML page at a dataset's or an edition's path, as www.ons.gov.uk lays it out."""
        dataset = self._dataset_at(path)
        if dataset is not None:
            body = self._landing_html(dataset)
        else:
            edition = self.editions.get(path)
            if edition is None or edition.missing:
                raise web.HTTPNotFound()
            owner = next(d for d, editions in self.datasets.items() if path in editions)
            body = (self._reshaped_html(owner) if owner in self.reshaped
                    else self._edition_html(edition))
        return web.Response(text=body, content_type="text/html")

    def _current(self, dataset: str) -> Edition | None:
        editions = [self.editions[uri] for uri in self.datasets[dataset]]
        return max(editions, key=lambda e: e.release, default=None)

    def _landing_html(self, dataset: str) -> str:
        if dataset in self.reshaped:
            return self._reshaped_html(dataset)
        current = self._current(dataset)
        if current is None:
            return page("No editions yet", "<p>This dataset has no editions.</p>")
        listed = (self.datasets[dataset] if self.landing[dataset] == "all" else [current.uri])
        downloads = "".join(
            f'<li><a href="https://cdn.ons.gov.uk/file?uri={current.uri}/{name}">'
            f"{html.escape(name)} "
            f"({len(content) // 1024} KB)</a></li>"
            for name, content in current.files.items()) if self.landing[dataset] == "all" else ""
        editions = "".join(f'<li><a href="{uri}">{uri.rsplit("/", 1)[-1]}</a></li>'
                           for uri in listed)
        return page(dataset, f"""
            <p><span>Release date:</span><br><span>{long_date(current.release)}</span></p>
            <p>Next release: 22 January 2099</p>
            <section><h2>Current edition</h2><ul>{downloads}</ul></section>
            <section><h2>Editions in this dataset</h2><ul>{editions}</ul></section>""")

    def _edition_html(self, edition: Edition) -> str:
        downloads = "".join(
            f'<li><a href="https://www.ons.gov.uk/file?uri={edition.uri}/{name}">'
            f"{html.escape(name)}</a></li>" for name in edition.files)
        previous = "".join(
            f'<li><a href="/file?uri={version["uri"]}/{name}">Previous version</a></li>'
            for version in edition.versions for name in edition.files)
        return page(edition.uri.rsplit("/", 1)[-1], f"""
            <div class="meta"><span>Release date: </span>
              <span>{long_date(edition.release)}</span></div>
            <div><span>Next release:</span> <span>22 January 2099</span></div>
            <ul class="downloads">{downloads}</ul>
            <h3>Previous versions</h3><ul>{previous}</ul>""")

    def _reshaped_html(self, dataset: str) -> str:
        """A redesigned page: its downloads moved to another path, our dataset path unlinked."""
        return page(dataset, '<p>Release date: 1 May 2099</p><a href="/datasets/new/'
                    f'{dataset}/download.xlsx">Download</a>')

    async def _file(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request.path_qs)
        uri = request.query.get("uri", "")
        folder, _, name = uri.rpartition("/")
        edition = self.editions.get(folder)
        if edition is None or edition.missing or name not in edition.files:
            raise web.HTTPNotFound()
        return await self._send(request, name, edition.files[name])

    async def _lookup(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in self.lookups:
            raise web.HTTPNotFound()
        return await self._send(request, name, self.lookups[name])

    async def _send(self, request: web.Request, name: str, content: bytes) -> web.StreamResponse:
        start = 0
        ranged = request.headers.get("Range", "")
        if ranged.startswith("bytes="):
            start = int(ranged[6:].split("-")[0])
        body = content[start:]
        response = web.StreamResponse(status=206 if start else 200)
        response.content_length = len(body)
        await response.prepare(request)
        if name in self.truncate:
            self.truncate.discard(name)
            await response.write(body[: len(body) // 3])
            request.transport.close()  # type: ignore[union-attr]
            return response
        await response.write(body)
        await response.write_eof()
        return response

    # --- running in a thread, so the synchronous fetch can call it --------------------------

    def __enter__(self) -> FakeONS:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            app = web.Application()
            app.router.add_get("/file", self._file)
            app.router.add_get("/lookups/{name}", self._lookup)
            app.router.add_get("/{tail:.*}/data", self._page)
            app.router.add_get("/{tail:.*}", self._html)
            self._runner = web.AppRunner(app)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)


def long_date(iso: str) -> str:
    """24 April 2025, as ONS pages print dates."""
    day = date.fromisoformat(iso)
    return f"{day.day} {day:%B %Y}"


def page(title: str, body: str) -> str:
    """A page wrapped in the site's furniture: navigation links and a script that must not count."""
    return f"""<!doctype html><html lang="en"><head><title>{html.escape(title)} - ONS</title>
<script>var tracker = "/file?uri=/not/a/download.xlsx"; // Release date: 1 January 1999</script>
</head><body><nav><a href="/">Home</a> <a href="/peoplepopulationandcommunity/crimeandjustice">
Crime and justice</a> <a href="https://cdn.ons.gov.uk/assets/site.css">style</a></nav>
<main><h1>{html.escape(title)}</h1>{body}</main></body></html>"""
