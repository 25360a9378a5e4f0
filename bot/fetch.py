"""Discovery and the archive: every ONS edition of every dataset, downloaded once, kept for ever.

`fetch` walks each dataset's `/data` JSON view (landing page → editions → downloads), downloads
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
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bot.config import read
from bot.readers.common import sha256_of
from bot.sources import DATASETS, DownloadError, Settings

MANIFEST = "manifest.json"
PARTIAL = ".partial"


def default_archive(db_path: Path) -> Path:
    """The archive sits beside the store unless CRIMEBOT_ARCHIVE says otherwise."""
    return read("CRIMEBOT_ARCHIVE") or db_path.parent / "archive"


@dataclass(frozen=True)
class Wanted:
    """One file an edition page lists."""

    dataset: str
    edition: str
    release_date: str | None
    url: str
    name: str
    version: str


@dataclass
class FetchReport:
    fetched: list[str] = field(default_factory=list)
    held: int = 0
    errors: list[str] = field(default_factory=list)


def _get(url: str, timeout: float, headers: dict[str, str] | None = None):
    request = urllib.request.Request(url, headers={"User-Agent": "crimebot-fetch",
                                                   **(headers or {})})
    return urllib.request.urlopen(request, timeout=timeout)


def _json(url: str, timeout: float) -> dict:
    with _get(url, timeout) as response:
        return json.loads(response.read().decode("utf-8"))


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


def discover(settings: Settings) -> tuple[list[Wanted], list[str]]:
    """Every file of every edition ONS lists now, and the pages that could not be read.

    Raises DownloadError when not even the first page answers: that is being offline.
    """
    wanted: list[Wanted] = []
    errors: list[str] = []
    reached = False
    for dataset, uri in DATASETS.items():
        try:
            landing = _json(f"{settings.base}{uri}/data", settings.timeout)
        except urllib.error.HTTPError as error:
            reached = True
            errors.append(f"{dataset}: {uri}/data answered {error.code}")
            continue
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            if not reached:
                raise DownloadError(
                    f"could not reach ONS at {settings.base} ({error}). Offline? Pass --source "
                    "DIR with the ONS files, or set CRIMEBOT_SOURCES.") from error
            errors.append(f"{dataset}: {error}")
            continue
        reached = True
        for edition in landing.get("datasets", []):
            edition_uri = edition.get("uri", "")
            try:
                page = _json(f"{settings.base}{edition_uri}/data", settings.timeout)
            except (urllib.error.URLError, TimeoutError, OSError, ValueError) as error:
                errors.append(f"{dataset}: edition {edition_uri}: {error}")
                continue
            release = (page.get("description") or {}).get("releaseDate")
            versions = page.get("versions") or []
            version = str(len(versions)) + ":" + str(
                max((v.get("updateDate", "") for v in versions), default=""))
            for download in page.get("downloads", []):
                name = download.get("file", "")
                if not name:
                    continue
                url = f"{settings.base}/file?uri={edition_uri}/{name}"
                wanted.append(Wanted(dataset, edition_uri, release, url, name, version))
    for url in settings.lookup_urls:
        wanted.append(Wanted("lookup", "lookup", None, url, lookup_name(url), "0"))
    return wanted, errors


def lookup_name(url: str) -> str:
    """A lookup's file name: the URL's last segment, or the name ONS gives the 2023 lookup."""
    last = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
    return last if "." in last else "lad23_csp_pfa_lookup.csv"


def fetch(archive: Path, settings: Settings | None = None, *,
          progress: bool = False) -> FetchReport:
    """Download every listed file the archive does not hold; never delete anything."""
    settings = settings or Settings.from_env()
    archive.mkdir(parents=True, exist_ok=True)
    entries = load_manifest(archive)
    wanted, errors = discover(settings)
    report = FetchReport(errors=errors)
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
        hashes.add(digest)
        entries.append({
            "dataset": item.dataset, "edition": item.edition, "release_date": item.release_date,
            "url": item.url, "name": item.name, "version": item.version, "sha256": digest,
            "size": size, "file": stored,
            "fetched_at": datetime.now(UTC).replace(microsecond=0).isoformat()})
        _save_manifest(archive, entries)
    report.errors += [f"{name}: no longer matches the hash it was archived under"
                      for name in verify(archive)]
    return report


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


def verify(archive: Path) -> list[str]:
    """Archived files whose content no longer matches the manifest (never expected)."""
    return [e["file"] for e in load_manifest(archive)
            if (archive / e["file"]).exists() and sha256_of(archive / e["file"]) != e["sha256"]]
