"""The local Neo4j 5 that development, ``make run`` and the tests use, with no Docker.

A developer tool, not part of the running service: nothing under ``service/`` but the command
line imports it. It reads CASEWISE_NEO4J_PORT, CASEWISE_NEO4J_DATA_DIR and CASEWISE_NEO4J_TLS
when called.

``tools/neo4j`` holds a one-class Java launcher that runs the embedded Neo4j Community database
with Bolt on 127.0.0.1 (see docs/neo4j.md). ``start`` builds it with Maven when needed, starts it
detached and waits until Bolt answers; ``stop`` and ``status`` find it through
``var/neo4j/neo4j.pid``. ``python -m service.devtools.localneo4j run -- CMD`` runs CMD with a
server and ``NEO4J_URI``, ``NEO4J_USER`` and ``NEO4J_PASSWORD`` set, unless ``NEO4J_URI`` is
already set.

Authentication is on even on loopback, because any web page the developer visits can open a
WebSocket to 127.0.0.1 and Bolt answers WebSocket on its port. The password is generated once
per data folder into ``<data dir>/password`` (mode 600) and handed to what ``run`` starts.

With TLS (``start(tls=True)``, ``casewise neo4j start --tls`` or CASEWISE_NEO4J_TLS=on), Bolt
takes only TLS connections, as a production server would: a self-signed certificate for
127.0.0.1 and localhost is made once per data folder with the ``openssl`` command into
``<data dir>/certificates/bolt/`` (``private.key`` mode 600, ``public.crt``); clients connect with
``bolt+s://`` and trust that certificate (CASEWISE_NEO4J_CA_FILE, see ``service.graph.db``).

Errors::

    CasewiseError
    └── Neo4jLauncherError   java or mvn missing, build failed, port taken, server died or hung
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType

import neo4j
from neo4j.exceptions import AuthError, DriverError, Neo4jError

from service.graph.db import driver_options
from service.kernel.errors import CasewiseError
from service.kernel.procs import process_alive

HOST = "127.0.0.1"
REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_DIR = REPO_ROOT / "tools" / "neo4j"
PORT_ENV = "CASEWISE_NEO4J_PORT"
DATA_DIR_ENV = "CASEWISE_NEO4J_DATA_DIR"
MAIN_CLASS = "casewise.neo4j.LocalNeo4j"
JAVA_OPTS_ENV = "CASEWISE_NEO4J_JAVA_OPTS"
TLS_ENV = "CASEWISE_NEO4J_TLS"
CA_FILE_ENV = "CASEWISE_NEO4J_CA_FILE"
# Under the data folder: the Bolt SSL policy's folder (Neo4j's own layout, certificates/<scope>).
TLS_DIR = Path("certificates") / "bolt"
CERTIFICATE_DAYS = 825
# The local server's one user (Neo4j's initial admin); its password is in PASSWORD_FILE.
LOCAL_USER = "neo4j"
PASSWORD_FILE = "password"

# Sized to share 2 cores with a test suite: a fixed 512 MB heap, one GC thread, and C1 only
# (quicker start and less compiler CPU; short test runs never profit from C2). The opens are
# the ones Neo4j's own scripts pass, so the page cache and tx logs use their fast paths.
JAVA_OPTS = (
    "-Xms512m",
    "-Xmx512m",
    "-XX:+UseSerialGC",
    "-XX:TieredStopAtLevel=1",
    "-XX:-OmitStackTraceInFastThrow",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dlog4j2.disable.jmx=true",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
)

Progress = Callable[[str], None]

# Servers this process started, so that stop() reaps them (no zombie, no ResourceWarning).
_children: dict[int, subprocess.Popen[bytes]] = {}


class Neo4jLauncherError(CasewiseError):
    """The local Neo4j could not be built, started or stopped; the message says what to do."""

    code = "neo4j-launcher"


# `make test` points these at a server of its own (var/neo4j-test on 7688), so tests never
# write into the graph `make run` serves. Read when called, so setting them later counts.
def default_port() -> int:
    """Give the Bolt port of the local server: CASEWISE_NEO4J_PORT, else 7687."""
    value = os.environ.get(PORT_ENV) or "7687"
    try:
        return int(value)
    except ValueError:
        raise Neo4jLauncherError(f"{PORT_ENV} must be a port number, not {value!r}") from None


def default_data_dir() -> Path:
    """Give the local server's data folder: CASEWISE_NEO4J_DATA_DIR (from the repository root),
    else var/neo4j."""
    return REPO_ROOT / (os.environ.get(DATA_DIR_ENV) or "var/neo4j")


def default_tls() -> bool:
    """Give whether the local server runs with TLS: CASEWISE_NEO4J_TLS (on/off), else off."""
    value = (os.environ.get(TLS_ENV) or "off").strip().lower()
    if value not in ("on", "off"):
        raise Neo4jLauncherError(f"{TLS_ENV} must be on or off, not {value!r}")
    return value == "on"


@dataclass(frozen=True)
class Status:
    """What ``var/neo4j`` says about the local server."""

    running: bool
    pid: int | None
    port: int | None
    data_dir: Path
    accepting: bool = False  # something accepts connections on the Bolt port
    tls: bool = False  # Bolt takes only TLS, with the certificate in ca_file

    @property
    def uri(self) -> str | None:
        """The Bolt URI of the running server (``bolt+s`` with TLS), or None."""
        scheme = "bolt+s" if self.tls else "bolt"
        return f"{scheme}://{HOST}:{self.port}" if self.running else None

    @property
    def ca_file(self) -> Path | None:
        """The certificate a client trusts (self-signed, so its own CA), or None without TLS."""
        return self.data_dir / TLS_DIR / "public.crt" if self.tls else None

    @property
    def log(self) -> Path:
        """The launcher's log: Neo4j's user log and anything the JVM printed."""
        return self.data_dir / "neo4j.log"

    @property
    def password_file(self) -> Path:
        """Where the password of the server's ``neo4j`` user is kept (mode 600)."""
        return self.data_dir / PASSWORD_FILE

    @property
    def auth(self) -> tuple[str, str]:
        """The user and password to connect with (the password file is created if missing)."""
        return LOCAL_USER, password(self.data_dir)


def _quiet(message: str) -> None:
    """Progress sink that says nothing."""


def status(data_dir: Path | None = None) -> Status:
    """Give the state of the local server whose files are in ``data_dir``."""
    data_dir = (data_dir or default_data_dir()).resolve()
    pid = _read_pid(data_dir)
    args = _launcher_args(pid) if pid is not None else None
    port = _launcher_port(args) if args is not None else None
    if port is None:
        return Status(running=False, pid=None, port=None, data_dir=data_dir)
    tls = b"--tls-dir" in (args or [])
    return Status(True, pid, port, data_dir, accepting=_accepting(port), tls=tls)


def start(
    port: int | None = None,
    data_dir: Path | None = None,
    timeout: float = 120.0,
    progress: Progress = _quiet,
    tls: bool | None = None,
) -> Status:
    """Start the local server (building it first if needed) and wait until Bolt answers.

    A no-op that gives the running server's status when it is already running on ``port``
    (with TLS as ``tls`` asks, if it or CASEWISE_NEO4J_TLS says; otherwise as it runs).
    ``timeout`` bounds the wait for Bolt after the JVM started, not the build.
    """
    port = port or default_port()
    if tls is None and os.environ.get(TLS_ENV):
        tls = default_tls()
    data_dir = (data_dir or default_data_dir()).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    with _lock(data_dir):
        current = status(data_dir)
        if current.running:
            if current.port != port:
                raise Neo4jLauncherError(
                    f"the local Neo4j in {data_dir} already runs on port {current.port} "
                    f"(pid {current.pid}), not {port}; use that port, or stop it first "
                    "(casewise neo4j stop)"
                )
            if tls is not None and current.tls != tls:
                raise Neo4jLauncherError(
                    f"the local Neo4j in {data_dir} already runs with TLS "
                    f"{'on' if current.tls else 'off'} (pid {current.pid}); stop it first "
                    "(casewise neo4j stop) to start it with TLS "
                    f"{'on' if tls else 'off'}"
                )
            _wait_for_bolt(current, timeout, 0)
            return current
        _check_port_free(port)
        password(data_dir)  # before the JVM starts: it reads the file
        tls_args = ["--tls-dir", str(certificate(data_dir).parent)] if tls else []
        classpath = _classpath(progress)
        java = _java()
        log_path = data_dir / "neo4j.log"
        offset = log_path.stat().st_size if log_path.exists() else 0
        command = [
            java,
            *JAVA_OPTS,
            *os.environ.get(JAVA_OPTS_ENV, "").split(),
            "-cp",
            classpath,
            MAIN_CLASS,
            "--home",
            str(data_dir),
            "--port",
            str(port),
            "--password-file",
            str(data_dir / PASSWORD_FILE),
            *tls_args,
        ]
        started = Status(running=True, pid=None, port=port, data_dir=data_dir, tls=bool(tls))
        progress(f"starting Neo4j on {started.uri} (data in {data_dir})")
        with log_path.open("ab") as log:
            # A session of its own, so Ctrl-C in the terminal that started it does not stop it.
            child = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=data_dir,
                start_new_session=True,
            )
        _children[child.pid] = child
        _write_pid(data_dir, child.pid)
        started = replace(started, pid=child.pid)
        try:
            _wait_for_bolt(started, timeout, offset)
        except BaseException:
            if child.poll() is None:
                _terminate(child.pid, 10.0)
            _children.pop(child.pid, None)
            (data_dir / "neo4j.pid").unlink(missing_ok=True)
            raise
        return replace(started, accepting=True)


def stop(data_dir: Path | None = None, timeout: float = 30.0) -> Status:
    """Stop the local server (SIGTERM, then SIGKILL after ``timeout``); give what was stopped.

    The result has ``running=False`` and the old pid and port, or no pid if nothing ran.
    """
    data_dir = (data_dir or default_data_dir()).resolve()
    if not data_dir.is_dir():
        return Status(running=False, pid=None, port=None, data_dir=data_dir)
    with _lock(data_dir):
        current = status(data_dir)
        if current.running and current.pid is not None:
            _terminate(current.pid, timeout)
        (data_dir / "neo4j.pid").unlink(missing_ok=True)
        return Status(running=False, pid=current.pid, port=current.port, data_dir=data_dir)


@contextlib.contextmanager
def running(
    port: int | None = None,
    data_dir: Path | None = None,
    timeout: float = 120.0,
    progress: Progress = _quiet,
) -> Iterator[Status]:
    """Give a running local server; stop it on exit only if this call started it."""
    data_dir = data_dir or default_data_dir()
    was_running = status(data_dir).running
    server = start(port=port, data_dir=data_dir, timeout=timeout, progress=progress)
    try:
        yield server
    finally:
        if not was_running:
            progress("stopping Neo4j")
            stop(data_dir)


def run(
    command: Sequence[str],
    port: int | None = None,
    data_dir: Path | None = None,
    progress: Progress = _quiet,
) -> int:
    """Run ``command`` with NEO4J_URI set, starting a local server unless NEO4J_URI is set.

    Gives the command's exit code. A server started here is stopped afterwards, also when the
    command fails or this process gets SIGTERM or Ctrl-C.
    """
    if not command:
        raise Neo4jLauncherError("no command to run; usage: run -- CMD [ARG...]")
    if shutil.which(command[0]) is None:
        progress(f"{command[0]}: command not found")
        return 127  # as a shell does, and before a server is started for nothing
    if os.environ.get("NEO4J_URI"):
        return _call(command, dict(os.environ))
    with running(port=port, data_dir=data_dir, progress=progress) as server:
        env = dict(os.environ)
        # The credentials go with the URI: any NEO4J_USER/NEO4J_PASSWORD in the environment
        # belong to some other server.
        env["NEO4J_URI"] = server.uri or ""
        env["NEO4J_USER"], env["NEO4J_PASSWORD"] = server.auth
        env.pop(CA_FILE_ENV, None)
        if server.ca_file is not None:
            env[CA_FILE_ENV] = str(server.ca_file)
        env.setdefault("NEO4J_DATABASE", "neo4j")
        return _call(command, env)


def _call(command: Sequence[str], env: dict[str, str]) -> int:
    """Run ``command`` to its end, passing SIGTERM on to it; give its exit code."""
    child = subprocess.Popen(list(command), env=env)

    def forward(signum: int, frame: FrameType | None) -> None:
        child.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, forward)
    try:
        while True:
            try:
                code = child.wait()
                return 128 - code if code < 0 else code  # killed by a signal: as a shell says
            except KeyboardInterrupt:
                # The terminal sent SIGINT to the command too; wait for it to finish.
                continue
    finally:
        signal.signal(signal.SIGTERM, previous)


def _wait_for_bolt(server: Status, timeout: float, log_offset: int) -> None:
    """Return once Bolt runs ``RETURN 1``; raise if the server dies or the time runs out."""
    assert server.pid is not None and server.port is not None and server.uri is not None
    uri, tls_options = driver_options(server.uri, server.ca_file)
    auth = server.auth
    deadline = time.monotonic() + timeout
    problem = "no answer yet"
    while True:
        if not _alive(server.pid):
            child = _children.get(server.pid)
            code = f" with code {child.returncode}" if child is not None else ""
            raise Neo4jLauncherError(
                f"Neo4j (pid {server.pid}) exited{code} while starting; "
                f"the end of {server.log}:\n{_tail(server.log, log_offset)}"
            )
        if _accepting(server.port):
            try:
                with (
                    neo4j.GraphDatabase.driver(
                        uri, auth=auth, connection_timeout=5.0, **tls_options
                    ) as driver,
                    driver.session(database="neo4j") as session,
                ):
                    session.run("RETURN 1").consume()
                return
            except AuthError as exc:
                raise Neo4jLauncherError(
                    f"the local Neo4j on {uri} refused the password in {server.password_file} "
                    f"({exc.code}): its neo4j user has another password (changed by hand). "
                    "Put that password in the file (mode 600), or stop the server and delete "
                    f"{server.data_dir / 'data'} to start from an empty graph"
                ) from exc
            except (DriverError, Neo4jError, OSError) as exc:
                problem = str(exc)
        if time.monotonic() > deadline:
            raise Neo4jLauncherError(
                f"Neo4j (pid {server.pid}) did not answer on {uri} within {timeout:.0f} s "
                f"({problem}); the end of {server.log}:\n{_tail(server.log, log_offset)}\n"
                "Try a longer timeout, or `casewise neo4j stop` and start again."
            )
        time.sleep(0.2)


def password(data_dir: Path | None = None) -> str:
    """Give the local server's password, generating it into ``<data_dir>/password`` the first
    time: mode 600, written whole (a private temporary file, fsync, then a hard link that fails
    if another process made the file first, so all callers agree on one password)."""
    data_dir = (data_dir or default_data_dir()).resolve()
    path = data_dir / PASSWORD_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(prefix=f".{PASSWORD_FILE}.", dir=data_dir)  # 600
        partial = Path(name)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_urlsafe(32) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise Neo4jLauncherError(
            f"{path} is readable by others (mode {mode:o}); it holds the local Neo4j's "
            f"password: chmod 600 {path}"
        )
    value = path.read_text().strip()
    if len(value) < 8:
        raise Neo4jLauncherError(
            f"{path} holds no password (or one under 8 characters); delete it and start "
            "again to generate one (the server takes a new one only while its neo4j user "
            "still has the default password; otherwise also delete the data folder)"
        )
    return value


def certificate(data_dir: Path | None = None) -> Path:
    """Give the server's self-signed certificate, making it and its key the first time.

    The ``openssl`` command makes an RSA key and a certificate for IP 127.0.0.1 and DNS
    localhost in a private temporary folder, which is then renamed into place whole, so a
    half-made pair is never used. The certificate is also what a client trusts (its CA file).
    """
    data_dir = (data_dir or default_data_dir()).resolve()
    folder = data_dir / TLS_DIR
    crt = folder / "public.crt"
    if crt.is_file() and (folder / "private.key").is_file():
        return crt
    openssl = shutil.which("openssl")
    if openssl is None:
        raise Neo4jLauncherError(
            "openssl not found on PATH; it makes the local Neo4j's TLS certificate. Install "
            f"it (apt-get install openssl), or put a PEM key and certificate in {folder} "
            "as private.key and public.crt"
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=".bolt.", dir=folder.parent))  # mode 700
    try:
        result = subprocess.run(
            [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
             "-days", str(CERTIFICATE_DAYS), "-subj", "/CN=casewise-local-neo4j",
             "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-keyout", str(partial / "private.key"), "-out", str(partial / "public.crt")],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise Neo4jLauncherError(
                f"openssl could not make the local Neo4j's certificate (exit code "
                f"{result.returncode}): {result.stderr.strip()[-500:]}"
            )
        (partial / "private.key").chmod(0o600)
        partial.chmod(0o755)
        try:
            partial.rename(folder)
        except OSError:
            if not crt.is_file():  # not made meanwhile by another caller: a real failure
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return crt


def _accepting(port: int) -> bool:
    """True when something accepts TCP connections on ``port`` of the loopback address."""
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def _classpath(progress: Progress) -> str:
    """Give the launcher's class path, building it with Maven if it is missing or stale."""
    pom = TOOLS_DIR / "pom.xml"
    if not pom.is_file():
        raise Neo4jLauncherError(
            f"{pom} not found: the local Neo4j needs a source checkout of Casewise; "
            "or set NEO4J_URI to use another Neo4j server"
        )
    target = TOOLS_DIR / "target"
    classes = target / "classes"
    classpath_file = target / "classpath.txt"
    if _stale(classes / (MAIN_CLASS.replace(".", "/") + ".class"), classpath_file):
        _build(pom, progress)
    jars = classpath_file.read_text().strip().split(os.pathsep)
    if not all(Path(jar).is_file() for jar in jars):
        # The jars live in ~/.m2; someone cleaned it since the last build.
        _build(pom, progress)
        jars = classpath_file.read_text().strip().split(os.pathsep)
    return os.pathsep.join([str(classes), *jars])


def _stale(main_class: Path, classpath_file: Path) -> bool:
    """True when the built launcher is missing or older than its sources."""
    if not main_class.is_file() or not classpath_file.is_file():
        return True
    built = min(main_class.stat().st_mtime, classpath_file.stat().st_mtime)
    sources = [TOOLS_DIR / "pom.xml", *(TOOLS_DIR / "src").rglob("*.java")]
    return any(source.stat().st_mtime > built for source in sources)


def _build(pom: Path, progress: Progress) -> None:
    """Compile the launcher and resolve Neo4j's jars (into ~/.m2) with Maven."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise Neo4jLauncherError(
            "mvn (Maven 3.8+) not found on PATH; it builds the local Neo4j launcher. "
            "Install it (apt-get install maven) or set NEO4J_URI to use another Neo4j server"
        )
    _java()
    progress("building the Neo4j launcher with Maven (the first build downloads ~155 MB)")
    started = time.monotonic()
    result = subprocess.run(
        [mvn, "-q", "-B", "-f", str(pom), "compile"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        output = _strip_ansi(result.stdout + result.stderr).strip().splitlines()
        raise Neo4jLauncherError(
            f"building the Neo4j launcher failed (mvn exit code {result.returncode}); "
            f"run `mvn -B -f {pom} compile` to see why. Its last lines:\n" + "\n".join(output[-30:])
        )
    # Maven leaves classpath.txt alone when the class path did not change; its time stamp is
    # what _stale() compares with the sources, so without this every start would build again.
    (pom.parent / "target" / "classpath.txt").touch()
    progress(f"built in {time.monotonic() - started:.1f} s")


def _java() -> str:
    """Give the java executable: JAVA_HOME's, else the one on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise Neo4jLauncherError(
            "java (JDK 17 or 21) not found on PATH or in JAVA_HOME; Neo4j 5 runs on it. "
            "Install it (apt-get install openjdk-17-jdk-headless) "
            "or set NEO4J_URI to use another Neo4j server"
        )
    return java


def _check_port_free(port: int) -> None:
    """Raise if another program listens on ``port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Neo4j binds with SO_REUSEADDR too, so a closed server's TIME_WAIT is no conflict.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            raise Neo4jLauncherError(
                f"port {port} on {HOST} is in use by another program ({exc.strerror}); "
                "stop it, start on another port (casewise neo4j start --port N), "
                f"or use that server with NEO4J_URI=bolt://{HOST}:{port}"
            ) from exc


def _terminate(pid: int, timeout: float) -> None:
    """SIGTERM ``pid``, wait up to ``timeout``, then SIGKILL; return once it is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not _wait_gone(pid, timeout):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if not _wait_gone(pid, 10.0):
            raise Neo4jLauncherError(f"Neo4j (pid {pid}) survived SIGKILL; check `ps -p {pid}`")
    _children.pop(pid, None)


def _wait_gone(pid: int, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``pid`` to exit; True if it did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return not _alive(pid)


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a child of ours is reaped, so it is never a zombie)."""
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    return process_alive(pid)


def _launcher_args(pid: int) -> list[bytes] | None:
    """Give the command line of ``pid`` if it is a running launcher of ours, else None."""
    if not _alive(pid):
        return None
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    return args if MAIN_CLASS.encode() in args else None  # else the pid was reused


def _launcher_port(args: list[bytes]) -> int | None:
    """Give the Bolt port on a launcher's command line, else None."""
    if b"--port" not in args:
        return None
    try:
        return int(args[args.index(b"--port") + 1])
    except (IndexError, ValueError):
        return None


def _read_pid(data_dir: Path) -> int | None:
    """Give the pid in ``neo4j.pid``, or None."""
    try:
        return int((data_dir / "neo4j.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _write_pid(data_dir: Path, pid: int) -> None:
    """Write ``neo4j.pid`` atomically."""
    partial = data_dir / "neo4j.pid.tmp"
    partial.write_text(f"{pid}\n")
    partial.replace(data_dir / "neo4j.pid")


@contextlib.contextmanager
def _lock(data_dir: Path) -> Iterator[None]:
    """Hold ``neo4j.lock`` so that concurrent start and stop calls take turns."""
    with (data_dir / "neo4j.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _tail(path: Path, offset: int = 0, lines: int = 30) -> str:
    """Give the last ``lines`` lines of ``path`` written after byte ``offset``."""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.strip().splitlines()[-lines:]) or "(empty)"


def _strip_ansi(text: str) -> str:
    """Remove terminal colour codes (Maven prints some even with -B)."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m service.devtools.localneo4j run [--port N] -- CMD``: CMD with a local Neo4j."""
    parser = argparse.ArgumentParser(
        prog="python -m service.devtools.localneo4j",
        description="Run CMD with NEO4J_URI set, starting the local Neo4j unless it is set.",
    )
    sub = parser.add_subparsers(dest="action", required=True)
    run_parser = sub.add_parser("run", help="run CMD with a Neo4j; give CMD's exit code")
    run_parser.add_argument("--port", type=int, default=None)
    run_parser.add_argument("command", nargs=argparse.REMAINDER, metavar="-- CMD")
    args = parser.parse_args(argv)
    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]

    def say(message: str) -> None:
        print(f"neo4j: {message}", file=sys.stderr, flush=True)

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    # SIGTERM unwinds like Ctrl-C, so a server started here is stopped; while CMD runs,
    # run() passes SIGTERM on to CMD instead.
    signal.signal(signal.SIGTERM, terminate)
    try:
        return run(command, port=args.port, progress=say)
    except Neo4jLauncherError as exc:
        say(str(exc))
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
