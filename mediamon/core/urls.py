"""Canonical article URLs and the stable ids derived from them."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from courlan import normalize_url

# Query parameters that only track the reader; matched case-insensitively.
TRACKING_PARAMS = frozenset(
    {
        "_ga",
        "_gl",
        "_openstat",
        "cmpid",
        "dclid",
        "fb_action_ids",
        "fb_action_types",
        "fb_ref",
        "fb_source",
        "fbclid",
        "gbraid",
        "gclid",
        "gclsrc",
        "igsh",
        "igshid",
        "li_fat_id",
        "mc_cid",
        "mc_eid",
        "mkt_tok",
        "msclkid",
        "ocid",
        "ref",
        "ref_src",
        "ref_url",
        "s_kwcid",
        "smid",
        "ttclid",
        "twclid",
        "wbraid",
        "xtor",
        "yclid",
        "ysclid",
    }
)
TRACKING_PREFIXES = ("utm_", "at_", "pk_", "mtm_", "matomo_", "piwik_", "itm_", "ns_", "hsa_", "_hs", "__hs")

_PERCENT_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def is_tracking_param(name: str) -> bool:
    """Whether a query parameter only tracks the reader (utm_source, fbclid, ...)."""
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The canonical form of an absolute http(s) URL, for identity and de-duplication.

    Lower-case scheme and host (no user info, no trailing dot, no default port), no fragment, no tracking
    parameters, the other query parameters sorted by name (blank values kept, `&amp;` read as `&`),
    percent-escapes of unreserved characters decoded and the rest upper-cased. Meant for identity: fetch the
    link as published. Raises ValueError for anything that is not an absolute http(s) URL.
    """
    parts = urlsplit(url.strip().replace("&amp;", "&"))
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    query = sorted(
        ((key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking_param(key)),
        key=lambda pair: pair[0],
    )
    host = parts.hostname.rstrip(".")
    host = f"[{host}]" if ":" in host else host
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    base = normalize_url(parts._replace(netloc=netloc, query="", fragment=""))
    scheme, netloc, path, _, _ = urlsplit(base)
    canonical = urlunsplit((scheme, netloc, path or "/", urlencode(query), ""))
    return _PERCENT_ESCAPE.sub(_normalize_escape, canonical)


def _normalize_escape(match: re.Match[str]) -> str:
    char = chr(int(match.group(0)[1:], 16))
    return char if char in _UNRESERVED else match.group(0).upper()


def article_id(url: str) -> str:
    """A stable 32-hex-digit id for an article: a sha256 prefix of its canonical URL."""
    return hashlib.sha256(canonical_url(url).encode("utf-8")).hexdigest()[:32]
