"""CA files a person points mediamon at (an SMTP server's, Kibana's): whether TLS can trust them."""

from __future__ import annotations

import ssl
from pathlib import Path


def ca_file_problem(path: Path) -> str | None:
    """Why TLS cannot trust the CA file at `path` (missing, unreadable, no PEM certificate in it), or None."""
    try:
        ssl.create_default_context(cafile=str(path))
    except ssl.SSLError:
        return "no certificate in PEM form in it"
    except OSError as exc:
        return exc.strerror or str(exc)
    return None
