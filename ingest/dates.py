"""Publication dates with their precision and provenance.

A date may name a year, a month, a day or an instant; it is kept as the UTC start of that period with its precision
(`2020-09` is 2020-09-01T00:00Z, `month`). An article's date comes from the first source that has one it can
believe: its feed entry (an instant), its page's metadata (read by htmldate: an instant where the page gives the time
with its offset, else a day), the date in its URL's path (`/2020/09/14/` a day, `/2020/09/` a month), else none.
A date beyond now plus a small skew is a publisher's error: it is logged and the next source is asked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

from mediamon.core.records import DateSource, Precision

LOG = logging.getLogger(__name__)

YEAR_OR_MONTH = re.compile(r"(\d{4})(?:-(\d{2}))?")
# /YYYY/MM/ or /YYYY/MM/DD/ in a URL's path (the last part may end the path).
URL_DATE = re.compile(r"/((?:19|20)\d{2})/(0[1-9]|1[0-2])/(?:(0[1-9]|[12]\d|3[01])(?:/|$))?")


@dataclass(frozen=True, slots=True)
class Published:
    """A publication date (UTC start of its period), its precision and where it came from."""

    at: datetime | None
    precision: Precision | None
    source: DateSource


UNDATED = Published(None, None, "none")


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_date(value: str | date | datetime | int | float) -> tuple[datetime, Precision]:
    """The UTC start and the precision of an ISO 8601 year, month, day or date-time (naive times read as UTC), a
    `date`, a `datetime` or Unix seconds. Raises ValueError (or TypeError) on anything else."""
    if isinstance(value, datetime):
        return _utc(value), "instant"
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC), "day"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC), "instant"
    if not isinstance(value, str):
        raise TypeError(f"not a date: {value!r}")
    text = value.strip()
    if match := YEAR_OR_MONTH.fullmatch(text):
        year, month = match.groups()
        return datetime(int(year), int(month or 1), 1, tzinfo=UTC), "month" if month else "year"
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return _utc(datetime.fromisoformat(text)), "instant"
    return datetime(day.year, day.month, day.day, tzinfo=UTC), "day"


def url_date(url: str) -> Published:
    """The date in a URL's path (`/2020/09/14/` a day, `/2020/09/` a month), else UNDATED."""
    for match in URL_DATE.finditer(urlsplit(url).path):
        year, month, day = match.groups()
        try:
            start = datetime(int(year), int(month), int(day or 1), tzinfo=UTC)
        except ValueError:  # 2020/02/31
            continue
        return Published(start, "day" if day else "month", "url")
    return UNDATED


def believable(candidates: Iterable[Published], *, now: datetime, skew: timedelta, what: str) -> Published:
    """The first dated candidate not beyond `now + skew`, else UNDATED; the dates passed over for being in the
    future are logged in one line about `what` (a URL, a file's line)."""
    future = []
    for candidate in candidates:
        if candidate.at is None:
            continue
        if candidate.at <= now + skew:
            chosen = candidate
            break
        future.append(f"{candidate.source} {candidate.at.isoformat()}")
    else:
        chosen = UNDATED
    if future:
        LOG.warning("%s: ignored dates in the future (%s); dated by %s", what, ", ".join(future), chosen.source)
    return chosen


def page_published(
    feed: datetime | None, page: datetime | date | None, url: str, *, now: datetime, skew: timedelta
) -> Published:
    """The date of a fetched article: its feed entry's, else its page's, else its URL's (see the module docstring).

    htmldate takes a complete date in the URL before the page's metadata, so a page date equal to the URL's day is
    the URL's."""
    in_url = url_date(url)
    if page is None:
        on_page = UNDATED
    elif isinstance(page, datetime):
        on_page = Published(_utc(page), "instant", "page")
    elif in_url.precision == "day" and in_url.at is not None and in_url.at.date() == page:
        on_page = in_url
    else:
        on_page = Published(datetime(page.year, page.month, page.day, tzinfo=UTC), "day", "page")
    in_feed = Published(_utc(feed), "instant", "feed") if feed is not None else UNDATED
    return believable([in_feed, on_page, in_url], now=now, skew=skew, what=url)
