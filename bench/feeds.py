"""Feed parsing robustness on feedparser's own test files (`../shared/bench/feeds/feedparser-tests`).

    .venv/bin/python -m bench.feeds [--json out.json]

Every file goes through mediamon's feed stage (`ingest.feeds.parse_feed`). Per folder: files, entries feedparser
finds, entries we keep (those with an http(s) link), bozo (ill-formed) files, files that yield nothing we keep, and
failures (unhandled exceptions: must be 0). Then the hostile-markup check: in every entry of every file, what we
would store (title, summary, link; title and summary through `ingest.feeds.entry_text` also for the entries we drop
for want of a link, so that the check covers the many link-less test entries) must hold no hostile markup, i.e. no
script/style/iframe/object/embed tag, no `on*=` event handler inside a tag and no `javascript:` URL (must be 0).
The same count on feedparser's raw fields shows what the check would catch.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import feedparser
from rich.console import Console
from rich.table import Table

from ingest.feeds import entry_text, parse_feed
from mediamon.core.settings import Settings

HOSTILE = re.compile(
    r"<\s*/?\s*(?:script|style|iframe|object|embed)\b"  # active or embedding elements
    r"|<[^>]*[\s/\"']on[a-z]+\s*="  # an event handler attribute inside a tag
    r"|(?:java|vb)script\s*:",  # a script URL
    re.IGNORECASE,
)
SAFE_LINK = re.compile(r"https?://[^\s\"'<>`]+\Z")
FIELDS = ("title", "summary", "link")


@dataclass(slots=True)
class FolderCounts:
    """What one folder's files gave."""

    files: int = 0
    entries_found: int = 0
    entries_kept: int = 0
    bozo: int = 0
    nothing_kept: int = 0
    failures: int = 0
    hostile_raw: int = 0
    hostile_stored: int = 0
    seconds: float = 0.0
    failed_files: list[str] = field(default_factory=list)
    hostile_examples: list[str] = field(default_factory=list)


def feeds_dir(settings: Settings) -> Path:
    """The feedparser test files; exits with a clear message when they are absent."""
    path = settings.bench_dir / "feeds" / "feedparser-tests"
    if not path.is_dir():
        sys.exit(f"benchmark data not found at {path} (set MEDIAMON_BENCH_DIR to the folder holding feeds/)")
    return path


def hostile_fields(title: str, summary: str, link: str) -> list[str]:
    """Names of the fields that carry hostile markup (a link also when it is not a plain http(s) URL)."""
    bad = [name for name, value in (("title", title), ("summary", summary)) if HOSTILE.search(value)]
    if link and (HOSTILE.search(link) or not SAFE_LINK.match(link)):
        bad.append("link")
    return bad


def _raw_hostile(entry: feedparser.FeedParserDict) -> int:
    return sum(bool(HOSTILE.search(entry.get(name) or "")) for name in FIELDS)


def check_file(path: Path, counts: FolderCounts, name: str) -> None:
    """Parse one file through our feed stage and add what it gave to `counts`."""
    content = path.read_bytes()
    counts.files += 1
    start = time.perf_counter()
    try:
        parsed = parse_feed(content, feed_url="http://127.0.0.1/feed.xml", source_id="bench")
    except Exception as error:  # noqa: BLE001 - counting every unhandled error is the point of this benchmark
        counts.failures += 1
        counts.failed_files.append(f"{name}: {type(error).__name__}: {error}")
        return
    finally:
        counts.seconds += time.perf_counter() - start
    counts.entries_kept += len(parsed.entries)
    counts.bozo += parsed.bozo
    counts.nothing_kept += not parsed.entries
    stored = [(e.title, e.summary, e.url) for e in parsed.entries]
    raw = feedparser.parse(content).entries
    counts.entries_found += len(raw)
    counts.hostile_raw += sum(_raw_hostile(entry) for entry in raw)
    linkless = [entry for entry in raw if not (entry.get("link") or "").strip().startswith(("http://", "https://"))]
    stored += [(*entry_text(entry), "") for entry in linkless]
    for title, summary, link in stored:
        bad = hostile_fields(title, summary, link)
        counts.hostile_stored += len(bad)
        counts.hostile_examples += [f"{name} {field_name}" for field_name in bad]


def run(root: Path) -> dict[str, FolderCounts]:
    """Counts per folder (relative to `root`) over every file below it."""
    folders: dict[str, FolderCounts] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        folder = path.parent.relative_to(root).as_posix()
        check_file(path, folders.setdefault(folder, FolderCounts()), path.relative_to(root).as_posix())
    return folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    console = Console(width=max(Console().width, 120))  # whole rows also when piped
    folders = run(feeds_dir(Settings()))
    total = FolderCounts()
    for counts in folders.values():
        for name in (f.name for f in fields(FolderCounts)):
            setattr(total, name, getattr(total, name) + getattr(counts, name))
    columns = ("files", "entries_found", "entries_kept", "bozo", "nothing_kept", "failures")
    table = Table(title=f"Feed stage on {total.files} feedparser test files (feedparser {feedparser.__version__})")
    table.add_column("folder", no_wrap=True)
    for column in (*columns, "hostile raw", "hostile stored", "files/s"):
        table.add_column(column.replace("_", " "), justify="right")
    for folder, counts in [*sorted(folders.items()), ("all", total)]:
        speed = counts.files / counts.seconds if counts.seconds else 0.0
        cells = [str(getattr(counts, c)) for c in columns]
        table.add_row(folder, *cells, str(counts.hostile_raw), str(counts.hostile_stored), f"{speed:.0f}")
    console.print(table)
    for line in total.failed_files + total.hostile_examples:
        console.print(f"  {line}")
    if args.json:
        payload = {"feedparser": feedparser.__version__, "folders": {k: asdict(v) for k, v in folders.items()}}
        Path(args.json).write_text(json.dumps(payload | {"all": asdict(total)}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
