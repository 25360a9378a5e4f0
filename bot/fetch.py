"""Discovery and the archive: every ONS edition of every dataset, downloaded once, kept for ever.

`fetch` walks each dataset's `/data` JSON view (landing page → editions → downloads). ONS is
retiring those views while it moves to a new site, so where a dataset's view answers 404, HTML
or something that is not JSON, the HTML pages are read instead: the landing page, the edition
pages under the dataset's own path, and their `/file?uri=<dataset>/<edition>/<file>` links.
Each dataset's outcome is one line (`FetchReport.dataset_lines`), so a dataset whose pages
changed shape is named while the others are still fetched. It then downloads
only files the archive does not hold, verifies each one (length, then SHA-256) and files it
under its content hash with a manifest line saying what it is. Nothing is ever deleted: a
correction ONS publishes under the same file name becomes a new version beside the old one. An
interrupted download resumes from its `.part` file. `archive_sources` gives ingest the newest
version of each file under its published name, so a store built from the archive is the same
as one built with `--source` from the same files.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import re
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Literal

from bot.readers.common import sha256_of
from bot.sources import DATASETS, DownloadError, Provenance, Settings

MANIFEST = "manifest.json"
DISCOVERY = "discovery.json"
PARTIAL = ".partial"
ONS_DOMAIN = "ons.gov.uk"


@dataclass(frozen=True)
class Wanted:
    """One file an edition page lists."""

    dataset: str
    edition: str
    release_date: str | None
    url: str
    name: str
    version: str


Way = Literal["json", "html"]


@dataclass(frozen=True)
class Found:
    """What discovery made of one dataset: the files it lists, which way they were found, and
    what went wrong. `way` is None when neither the JSON views nor the HTML pages answered
    with anything usable, so the operator is told that dataset was not looked at."""

    dataset: str
    way: Way | None
    files: tuple[Wanted, ...]
    problems: tuple[str, ...] = ()
    why_html: str | None = None


@dataclass
class FetchReport:
    fetched: list[str] = field(default_factory=list)
    held: int = 0
    errors: list[str] = field(default_factory=list)
    found: list[Found] = field(default_factory=list)
    new_by_dataset: dict[str, list[Wanted]] = field(default_factory=dict)

    @property
    def blind(self) -> bool:
        """Discovery failed for every dataset: a refresh learnt nothing about ONS, which the
        nightly timer must report as a failure (unlike a week with nothing new)."""
        return bool(self.found) and all(found.way is None for found in self.found)

    def dataset_lines(self) -> list[str]:
        """One line per discovered dataset: which way, and what was new (the ones not
        discovered are in `errors`, so they reach stderr even with --quiet)."""
        return [dataset_line(found, self.new_by_dataset.get(found.dataset, []))
                for found in self.found if found.way is not None]

    def blind_line(self) -> str:
        return (f"discovery failed for all {len(self.found)} datasets, so no new edition can "
                "arrive: " + "; ".join(f"{f.dataset}: {f.problems[0] if f.problems else '?'}"
                                       for f in self.found))


def dataset_line(found: Found, new: list[Wanted]) -> str:
    if found.way is None:
        return (f"{found.dataset}: NOT DISCOVERED: {'; '.join(found.problems)}; "
                "nothing fetched for it")
    how = ("via the /data JSON views" if found.way == "json"
           else f"via the HTML pages ({found.why_html})")
    editions = {w.edition for w in found.files}
    line = f"{found.dataset}: {how}, {len(editions)} edition(s), {len(found.files)} file(s); "
    if new:
        return line + "new: " + ", ".join(
            f"{w.edition.rsplit('/', 1)[-1]}/{w.name}" for w in new)
    return line + "nothing new"


class NotJSON(ValueError):
    """A `/data` view answered with something other than JSON (ONS retiring the views serves
    the HTML page, or a redirect to it, in their place)."""


def _get(url: str, timeout: float, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, headers={"User-Agent": "crimebot-fetch",
                                                   **(headers or {})})
    return urllib.request.urlopen(request, timeout=timeout)


def _json(url: str, timeout: float) -> dict:
    with _get(url, timeout) as response:
        kind = response.headers.get_content_type()
        body = response.read()
    if kind == "text/html":
        raise NotJSON(f"{url} answered an HTML page")
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise NotJSON(f"{url} did not answer JSON") from error
    if not isinstance(value, dict):
        raise NotJSON(f"{url} did not answer a JSON object")
    return value


def _html(url: str, timeout: float) -> Page:
    with _get(url, timeout) as response:
        charset = response.headers.get_content_charset() or "utf-8"
        return read_page(response.geturl(), response.read().decode(charset, "replace"))


def load_manifest(archive: Path) -> list[dict]:
    path = archive / MANIFEST
    if not path.exists():
        return []
    return json.loads(path.read_text(encoding="utf-8"))["files"]


def _save_manifest(archive: Path, entries: list[dict]) -> None:
    handle, temp = tempfile.mkstemp(prefix=".manifest-", dir=archive)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump({"files": entries}, out, indent=1, sort_keys=True)
    os.replace(temp, archive / MANIFEST)


# --- reading ONS HTML pages ---------------------------------------------------------------------

DOWNLOAD_SUFFIXES = (".xlsx", ".xls", ".csv", ".ods")
RELEASE_DATE = re.compile(r"Release date:?\s*(\d{1,2}\s+[A-Za-z]+\s+\d{4})")


@dataclass(frozen=True)
class Page:
    """What discovery needs from one HTML page: where it ended up, its links, its text."""

    url: str
    links: tuple[str, ...]
    text: str


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.links.append(href)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def read_page(url: str, html: str) -> Page:
    """Links (absolute) and whitespace-collapsed text of an HTML page."""
    parser = _PageParser()
    parser.feed(html)
    parser.close()
    text = " ".join(" ".join(parser.text).split())
    return Page(url, tuple(urllib.parse.urljoin(url, href) for href in parser.links), text)


def release_date(page: Page) -> str | None:
    """The page's "Release date: 24 April 2025" as 2025-04-24; None when it shows none."""
    match = RELEASE_DATE.search(page.text)
    if match is None:
        return None
    try:
        return datetime.strptime(" ".join(match.group(1).split()), "%d %B %Y").date().isoformat()
    except ValueError:
        return None


def _on_site(url: str, base: str) -> str | None:
    """The path (with query) of a link on the ONS site (any *.ons.gov.uk host, as pages may
    link the `cdn` host); None for links elsewhere. Downloads are then asked of `base`."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.netloc != urllib.parse.urlsplit(base).netloc and not (
            host == ONS_DOMAIN or host.endswith("." + ONS_DOMAIN)):
        return None
    return parts.path.rstrip("/") + (f"?{parts.query}" if parts.query else "")


def edition_links(page: Page, uri: str, base: str) -> list[str]:
    """Edition pages the page links to: one path segment under the dataset's own path."""
    found: list[str] = []
    for link in page.links:
        path = _on_site(link, base)
        if path is None or "?" in path or not path.startswith(uri + "/"):
            continue
        segment = path[len(uri) + 1:]
        if segment and "/" not in segment and segment != "data" and path not in found:
            found.append(path)
    return found


def download_links(page: Page, uri: str, base: str) -> list[tuple[str, str]]:
    """(edition uri, file name) of each `/file?uri=<dataset>/<edition>/<file>` link.

    Links into an edition's `previous/vN/` folders are earlier versions, not current files.
    """
    found: list[tuple[str, str]] = []
    for link in page.links:
        path = _on_site(link, base)
        if path is None or not path.startswith("/file?"):
            continue
        target = urllib.parse.parse_qs(path.split("?", 1)[1]).get("uri", [""])[0]
        edition, _, name = target.rpartition("/")
        if (edition.startswith(uri + "/") and "/" not in edition[len(uri) + 1:]
                and name.lower().endswith(DOWNLOAD_SUFFIXES) and (edition, name) not in found):
            found.append((edition, name))
    return found


def previous_versions(page: Page, edition: str) -> int:
    """How many earlier versions of the edition the page links to (a correction adds one)."""
    marker = re.compile(re.escape(edition) + r"/previous/(v\d+)/")
    return len({match.group(1) for link in page.links
                if (match := marker.search(urllib.parse.unquote(link)))})


# --- discovery ----------------------------------------------------------------------------------


def _file_url(base: str, edition: str, name: str) -> str:
    """The download URL, on the site's own host (ONS's `cdn` host answers 404 on this path)."""
    return f"{base}/file?uri={edition}/{name}"


def discover_json(dataset: str, uri: str, landing: dict, settings: Settings) -> Found:
    """Walk the `/data` views from a landing page that answered JSON; an edition whose view is
    gone is read from its HTML page instead."""
    files: list[Wanted] = []
    problems: list[str] = []
    for edition in landing.get("datasets", []):
        edition_uri = edition.get("uri", "")
        try:
            page = _json(f"{settings.base}{edition_uri}/data", settings.timeout)
        except (NotJSON, urllib.error.HTTPError) as error:
            try:
                from_page = html_edition(dataset, uri, edition_uri, settings)
            except (urllib.error.URLError, TimeoutError, OSError) as html_error:
                problems.append(f"edition {edition_uri}: {_short(error)}, and its page: "
                                f"{_short(html_error)}")
                continue
            if not from_page:
                problems.append(f"edition {edition_uri}: {_short(error)}, and its page links "
                                "no downloads")
            files += from_page
            continue
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            problems.append(f"edition {edition_uri}: {_short(error)}")
            continue
        release = (page.get("description") or {}).get("releaseDate")
        versions = page.get("versions") or []
        version = str(len(versions)) + ":" + str(
            max((v.get("updateDate", "") for v in versions), default=""))
        for download in page.get("downloads", []):
            name = download.get("file", "")
            if name:
                files.append(Wanted(dataset, edition_uri, release,
                                    _file_url(settings.base, edition_uri, name), name, version))
    if not files and not problems:
        problems.append(f"{uri}/data lists no editions")
    return Found(dataset, "json" if files else None, tuple(files), tuple(problems))


def html_edition(dataset: str, uri: str, edition: str, settings: Settings) -> list[Wanted]:
    """The files one edition page links to, dated by the page's release date."""
    page = _html(f"{settings.base}{edition}", settings.timeout)
    version = f"{previous_versions(page, edition)}:"
    release = release_date(page)
    return [Wanted(dataset, folder, release, _file_url(settings.base, folder, name), name,
                   version)
            for folder, name in download_links(page, uri, settings.base) if folder == edition]


def discover_html(dataset: str, uri: str, settings: Settings, why: str) -> Found:
    """Read the landing page, then each edition page it links to (or links files of).

    The live landing page lists the current edition's downloads and, sometimes, no other
    edition: earlier ones are already in the archive, so that is enough to learn of new ones.
    Raises URLError when the landing page itself cannot be read.
    """
    landing = _html(f"{settings.base}{uri}", settings.timeout)
    editions = edition_links(landing, uri, settings.base)
    on_landing = download_links(landing, uri, settings.base)
    editions += [e for e, _ in on_landing if e not in editions]
    files: list[Wanted] = []
    problems: list[str] = []
    for edition in editions:
        try:
            files += html_edition(dataset, uri, edition, settings)
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            problems.append(f"edition page {edition}: {_short(error)}")
            files += [Wanted(dataset, folder, release_date(landing),
                             _file_url(settings.base, folder, name), name,
                             f"{previous_versions(landing, folder)}:")
                      for folder, name in on_landing if folder == edition]
    if not files:
        shape = ("links no edition pages or downloads under " + uri if not editions
                 else f"edition pages under {uri} link no .xlsx/.xls/.csv/.ods downloads")
        return Found(dataset, None, (), (f"{why}, and the HTML page {landing.url} {shape}: ONS "
                                         "may have changed its pages", *problems))
    return Found(dataset, "html", tuple(files), tuple(problems), why)


def _short(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"answered {error.code}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return str(error)


def discover_dataset(dataset: str, uri: str, settings: Settings) -> Found:
    """The `/data` JSON views first; when they are gone (404, HTML, not JSON), the HTML pages.

    Raises URLError/OSError when the site cannot be reached at all, so the caller can tell
    being offline from a dataset whose pages changed.
    """
    try:
        landing = _json(f"{settings.base}{uri}/data", settings.timeout)
    except urllib.error.HTTPError as error:
        why = f"{uri}/data {_short(error)}"
    except NotJSON:
        why = f"{uri}/data is not JSON"
    else:
        by_json = discover_json(dataset, uri, landing, settings)
        if by_json.way is not None:
            return by_json
        why = f"{uri}/data gave no files ({'; '.join(by_json.problems)})"
    try:
        return discover_html(dataset, uri, settings, why)
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        # The site answered the /data request, so this is the page, not being offline.
        return Found(dataset, None, (), (f"{why}, and its HTML page: {_short(error)}",))


def discover(settings: Settings) -> tuple[list[Wanted], list[Found]]:
    """Every file of every edition ONS lists now, and what each dataset's discovery found.

    Raises DownloadError when not even the first page answers: that is being offline.
    """
    wanted: list[Wanted] = []
    found: list[Found] = []
    reached = False
    for dataset, uri in DATASETS.items():
        try:
            result = discover_dataset(dataset, uri, settings)
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            if not reached:
                raise DownloadError(
                    f"could not reach ONS at {settings.base} ({_short(error)}). Offline? Pass "
                    "--source DIR with the ONS files, or set CRIMEBOT_SOURCES.") from error
            result = Found(dataset, None, (), (_short(error),))
        reached = True
        found.append(result)
        wanted += result.files
    for url in settings.lookup_urls:
        wanted.append(Wanted("lookup", "lookup", None, url, lookup_name(url), "0"))
    return wanted, found


def lookup_name(url: str) -> str:
    """A lookup's file name: the URL's last segment, or the name ONS gives the 2023 lookup."""
    last = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
    return last if "." in last else "lad23_csp_pfa_lookup.csv"


def fetch(archive: Path, settings: Settings, *, progress: bool = False) -> FetchReport:
    """Download every listed file the archive does not hold; never delete anything."""
    archive.mkdir(parents=True, exist_ok=True)
    entries = load_manifest(archive)
    try:
        wanted, found = discover(settings)
    except DownloadError as error:
        _save_discovery(archive, {"checked_at": _now(), "unreachable": str(error)})
        raise
    report = FetchReport(found=found, errors=[
        line for f in found
        for line in ([dataset_line(f, [])] if f.way is None
                     else [f"{f.dataset}: {problem}" for problem in f.problems])])
    held = {(e["url"], e["version"]) for e in entries}
    hashes = {e["sha256"] for e in entries}
    todo = [w for w in wanted if (w.url, w.version) not in held]
    report.held = len(wanted) - len(todo)
    for index, item in enumerate(todo, start=1):
        show = _bar(index, len(todo), item.name) if progress else None
        try:
            digest, size, stored = _download(archive, item, settings.timeout, show)
        except DownloadError as error:
            report.errors.append(str(error))
            continue
        if digest not in hashes:
            report.fetched.append(item.name)
            report.new_by_dataset.setdefault(item.dataset, []).append(item)
        hashes.add(digest)
        entries.append({
            "dataset": item.dataset, "edition": item.edition, "release_date": item.release_date,
            "url": item.url, "name": item.name, "version": item.version, "sha256": digest,
            "size": size, "file": stored,
            "fetched_at": _now()})
        _save_manifest(archive, entries)
    report.errors += [f"{name}: no longer matches the hash it was archived under"
                      for name in verify(archive)]
    _save_discovery(archive, {"checked_at": _now(), "datasets": [
        {"dataset": f.dataset, "way": f.way, "line": dataset_line(
            f, report.new_by_dataset.get(f.dataset, []))} for f in found]})
    return report


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def _save_discovery(archive: Path, record: dict) -> None:
    """What the latest discovery found, for `crimebot doctor` to show when refresh stopped
    learning (the manifest only says what was ever fetched, not what was last looked at)."""
    handle, temp = tempfile.mkstemp(prefix=".discovery-", dir=archive)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(record, out, indent=1)
    os.replace(temp, archive / DISCOVERY)


def _download(archive: Path, item: Wanted, timeout: float,
              show: Callable[[int, int | None], None] | None) -> tuple[str, int, str]:
    """Fetch one file into `.partial/`, resuming; verify; file it under its SHA-256."""
    partial_dir = archive / PARTIAL
    partial_dir.mkdir(exist_ok=True)
    part = partial_dir / (hashlib.sha256(item.url.encode()).hexdigest()[:32] + ".part")
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        with _get(item.url, timeout, headers) as response:
            resumed = response.status == 206
            mode = "ab" if resumed else "wb"
            length = response.headers.get("Content-Length")
            expected = (int(length) + (have if resumed else 0)) if length else None
            with part.open(mode) as out:
                done = have if resumed else 0
                while chunk := response.read(1 << 16):
                    out.write(chunk)
                    done += len(chunk)
                    if show:
                        show(done, expected)
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError) as error:
        raise DownloadError(f"{item.name} ({item.edition}): {error!r}; kept what arrived, "
                            "the next fetch resumes") from error
    size = part.stat().st_size
    if expected is not None and size != expected:
        raise DownloadError(f"{item.name} ({item.edition}): got {size} of {expected} bytes; "
                            "the next fetch resumes")
    digest = sha256_of(part)
    stored = f"{digest}{Path(item.name).suffix.lower()}"
    target = archive / stored
    if target.exists():
        part.unlink()
    else:
        os.replace(part, target)
        os.chmod(target, 0o444)
    return digest, size, stored


def _bar(index: int, total: int, name: str) -> Callable[[int, int | None], None]:
    def show(done: int, expected: int | None) -> None:
        share = f"{done * 100 // expected:3d}%" if expected else f"{done // 1024:,} KB"
        sys.stderr.write(f"\r[{index}/{total}] {name[:50]:<50} {share}")
        if expected and done >= expected:
            sys.stderr.write("\n")
        sys.stderr.flush()
    return show


def archive_sources(archive: Path, into: Path) -> list[Path]:
    """The newest version of each archived file, linked under its published name in `into`.

    Files whose hash no longer verifies are left out and reported by the caller's ingest as
    missing rather than read.
    """
    newest: dict[tuple[str, str], dict] = {}
    for entry in load_manifest(archive):
        newest[entry["edition"], entry["name"]] = entry
    links: list[Path] = []
    for (_, name), entry in sorted(newest.items()):
        source = archive / entry["file"]
        if not source.exists():
            continue
        link = into / name
        if link.exists():
            link = into / f"{Path(entry['file']).stem[:12]}-{name}"
        with contextlib.suppress(FileExistsError):
            link.symlink_to(source.resolve())
        links.append(link)
    return links


def archive_provenance(archive: Path) -> dict[str, Provenance]:
    """When, and from which URL, the archive first received each file, by SHA-256."""
    first: dict[str, Provenance] = {}
    for entry in load_manifest(archive):
        released = (entry.get("release_date") or "")[:10] or None
        first.setdefault(entry["sha256"],
                         Provenance(entry["url"], released, entry["fetched_at"]))
    return first


def verify(archive: Path) -> list[str]:
    """Archived files whose content no longer matches the manifest (never expected)."""
    return [e["file"] for e in load_manifest(archive)
            if (archive / e["file"]).exists() and sha256_of(archive / e["file"]) != e["sha256"]]
