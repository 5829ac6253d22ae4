"""Start and stop the shared warehouse on this machine: a Hive metastore service and a Spark Thrift Server.

Both run from pip's pyspark installation (its jars hold Hive 2.3 and the Thrift server), bound to loopback:

- metastore: Hive's metastore handler (`HiveMetaStore.newRetryingHMSHandler`) behind a Thrift socket bound to
  SERVICES_HOST (Hive 2.3's own `HiveMetaStore` main binds every interface and has no bind-host option, so a
  20-line launcher, compiled on first start, binds it to loopback). Its catalog is a Derby database in the state
  folder: one process owns it, every Spark process shares it through the service.
- thrift: `spark-submit --class org.apache.spark.sql.hive.thriftserver.HiveThriftServer2 spark-internal`, a Spark
  driver that serves SQL over the HiveServer2 protocol (dbt's `thrift` target, PyHive, beeline, JDBC/BI tools) and
  keeps its catalog in the metastore service, so the ALS job (HIVE_METASTORE_URIS) writes tables it serves at once.

State folder (OLIST_SERVICES_DIR, default <OLIST_WAREHOUSE_DIR>/shared): metastore_db/, spark-warehouse/ (table
data), logs/<service>.log, run/<service>.pid. Start waits until the service answers (the Thrift server: a real
`select 1`) and fails with the log's tail if the process dies; a port already in use fails at once, naming it.
Stop sends SIGTERM to the recorded process (checked to still be that service), then SIGKILL after a grace period.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

LAUNCHER = "LoopbackHiveMetaStore"
THRIFT_CLASS = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
SERVICES = ("metastore", "thrift")


class ServiceError(RuntimeError):
    """A service that cannot start or stop; the message says which, on which port, and where its log is."""


def _pyspark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def _jdk_tool(name: str) -> str:
    """`java` or `javac` of JAVA_HOME when set (the JDK spark-submit runs the Thrift server on), else from PATH."""
    tool = Path(os.environ.get("JAVA_HOME", "")) / "bin" / name
    return str(tool) if os.environ.get("JAVA_HOME") and tool.exists() else name


@dataclass
class ServicesConfig:
    state_dir: Path
    host: str = "127.0.0.1"
    metastore_port: int = 9083
    thrift_port: int = 10000
    thrift_master: str = "local[*]"
    thrift_driver_memory: str = "4g"
    metastore_memory: str = "1g"
    shuffle_partitions: str = "4"
    page_size: str = "2m"
    adaptive: str = "false"
    start_timeout: float = 180.0
    spark_conf: dict[str, str] = field(default_factory=dict)  # more --conf for the Thrift server's Spark
    log4j: Path = field(default_factory=lambda: Path(__file__).resolve().parents[2] / "conf" / "log4j2.properties")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> ServicesConfig:
        env = dict(os.environ if env is None else env)
        warehouse = Path(env.get("OLIST_WAREHOUSE_DIR", Path.cwd() / "warehouse"))
        return cls(
            state_dir=Path(env.get("OLIST_SERVICES_DIR", warehouse / "shared")).resolve(),
            host=env.get("SERVICES_HOST", "127.0.0.1"),
            metastore_port=int(env.get("HIVE_METASTORE_PORT", "9083")),
            thrift_port=int(env.get("SPARK_THRIFT_PORT", "10000")),
            thrift_master=env.get("SPARK_MASTER", "local[*]"),
            thrift_driver_memory=env.get("SPARK_DRIVER_MEMORY", "4g"),
            shuffle_partitions=env.get("SPARK_SHUFFLE_PARTITIONS", "4"),
            page_size=env.get("SPARK_BUFFER_PAGE_SIZE", "2m"),
            adaptive=env.get("SPARK_SQL_ADAPTIVE", "false"),
        )

    @property
    def warehouse(self) -> Path:
        return self.state_dir / "spark-warehouse"

    @property
    def metastore_uri(self) -> str:
        return f"thrift://{self.host}:{self.metastore_port}"

    def log_file(self, service: str) -> Path:
        return self.state_dir / "logs" / f"{service}.log"

    def pid_file(self, service: str) -> Path:
        return self.state_dir / "run" / f"{service}.pid"

    def port(self, service: str) -> int:
        return self.metastore_port if service == "metastore" else self.thrift_port

    def client_env(self) -> dict[str, str]:
        """What a Spark process (the ALS job) and dbt's thrift target need to use these services."""
        return {
            "HIVE_METASTORE_URIS": self.metastore_uri,
            "SPARK_WAREHOUSE_DIR": str(self.warehouse),
            "SPARK_THRIFT_HOST": self.host,
            "SPARK_THRIFT_PORT": str(self.thrift_port),
        }


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _pid_of(config: ServicesConfig, service: str) -> int | None:
    """The recorded process if it is still alive and still this service (pids get reused)."""
    pid_file = config.pid_file(service)
    if not pid_file.exists():
        return None
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (ValueError, OSError):
        return None
    marker = LAUNCHER if service == "metastore" else THRIFT_CLASS
    return pid if marker in cmdline and str(config.state_dir) in cmdline else None


def _tail(path: Path, lines: int = 25) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _write_hive_site(config: ServicesConfig) -> Path:
    conf_dir = config.state_dir / "conf"
    conf_dir.mkdir(parents=True, exist_ok=True)
    props = {
        "javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={config.state_dir}/metastore_db;create=true",
        "datanucleus.schema.autoCreateAll": "true",
        "hive.metastore.schema.verification": "false",
        "hive.metastore.warehouse.dir": str(config.warehouse),
    }
    body = "\n".join(f"  <property><name>{k}</name><value>{v}</value></property>" for k, v in props.items())
    (conf_dir / "hive-site.xml").write_text(f'<?xml version="1.0"?>\n<configuration>\n{body}\n</configuration>\n')
    return conf_dir


def _compile_launcher(config: ServicesConfig, jars: Path) -> Path:
    classes = config.state_dir / "classes"
    source = Path(__file__).resolve().parent / f"{LAUNCHER}.java"
    target = classes / f"{LAUNCHER}.class"
    if not target.exists() or target.stat().st_mtime < source.stat().st_mtime:
        classes.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            # --release 17: the class runs on any JDK Spark 4.3 runs on, whichever JAVA_HOME compiled it
            [_jdk_tool("javac"), "--release", "17", "-nowarn", "-cp", f"{jars}/*", "-d", str(classes), str(source)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise ServiceError(
                f"could not compile the metastore launcher {source} (needs a JDK 17 or newer):\n{result.stderr}"
            )
    return classes


def _command(config: ServicesConfig, service: str) -> list[str]:
    home = _pyspark_home()
    jars = home / "jars"
    if service == "metastore":
        classes = _compile_launcher(config, jars)
        conf_dir = _write_hive_site(config)
        return [
            _jdk_tool("java"),
            f"-Xmx{config.metastore_memory}",
            "-Dlog4j2.contextSelector=org.apache.logging.log4j.core.selector.ClassLoaderContextSelector",
            f"-Dlog4j2.configurationFile=file:{config.log4j}",
            f"-Dderby.system.home={config.state_dir}",
            "-cp",
            f"{classes}:{conf_dir}:{jars}/*",
            LAUNCHER,
            config.host,
            str(config.metastore_port),
        ]
    spark_conf = {
        "spark.hadoop.hive.metastore.uris": config.metastore_uri,
        "spark.sql.warehouse.dir": str(config.warehouse),
        "spark.driver.bindAddress": config.host,
        "spark.driver.host": config.host,
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{config.log4j}",
        "spark.sql.shuffle.partitions": config.shuffle_partitions,
        "spark.buffer.pageSize": config.page_size,
        "spark.sql.adaptive.enabled": config.adaptive,
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",
        **config.spark_conf,
    }
    return [
        str(home / "bin" / "spark-submit"),
        "--master", config.thrift_master,
        "--driver-memory", config.thrift_driver_memory,
        "--name", f"olist-thrift-{config.state_dir}",
        "--class", THRIFT_CLASS,
        *[arg for key, value in spark_conf.items() for arg in ("--conf", f"{key}={value}")],
        "spark-internal",
        "--hiveconf", f"hive.server2.thrift.port={config.thrift_port}",
        "--hiveconf", f"hive.server2.thrift.bind.host={config.host}",
    ]  # fmt: skip


def _ready(config: ServicesConfig, service: str) -> bool:
    if not _accepts(config.host, config.port(service)):
        return False
    if service == "metastore":
        return True
    try:  # the port opens before the session is usable: a real query is the readiness check
        from pyhive import hive

        with hive.connect(host=config.host, port=config.thrift_port) as conn:
            cursor = conn.cursor()
            cursor.execute("select 1")
            return cursor.fetchall() == [(1,)]
    except Exception:  # noqa: BLE001 - any failure means "not ready yet"
        return False


def start(config: ServicesConfig, service: str) -> int:
    """Start one service (or return the pid of the one already running from this state folder)."""
    running = _pid_of(config, service)
    if running and _ready(config, service):
        log.info("%s already running (pid %s) on %s:%s", service, running, config.host, config.port(service))
        return running
    if running:
        stop(config, service)
    port = config.port(service)
    if not port_is_free(config.host, port):
        variable = "HIVE_METASTORE_PORT" if service == "metastore" else "SPARK_THRIFT_PORT"
        raise ServiceError(
            f"cannot start the {service} service: port {port} on {config.host} is already in use by another "
            f"process; stop it or choose another port ({variable}=...)"
        )
    for sub in ("logs", "run"):
        (config.state_dir / sub).mkdir(parents=True, exist_ok=True)
    log_path = config.log_file(service)
    env = {**os.environ, "SPARK_LOCAL_IP": config.host}
    env.pop("PYSPARK_SUBMIT_ARGS", None)
    with open(log_path, "ab") as out:
        process = subprocess.Popen(
            _command(config, service),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=config.state_dir,
            env=env,
            start_new_session=True,  # outlives `make`; stopped by pid
        )
    config.pid_file(service).write_text(str(process.pid))
    log.info("starting %s (pid %s) on %s:%s, log %s", service, process.pid, config.host, port, log_path)
    deadline = time.monotonic() + config.start_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            config.pid_file(service).unlink(missing_ok=True)
            raise ServiceError(
                f"{service} exited with code {process.returncode} while starting; log {log_path}:\n{_tail(log_path)}"
            )
        if _ready(config, service):
            log.info("%s ready on %s:%s", service, config.host, port)
            return process.pid
        time.sleep(1.0)
    stop(config, service)
    raise ServiceError(
        f"{service} did not answer on {config.host}:{port} within {config.start_timeout:.0f}s; "
        f"log {log_path}:\n{_tail(log_path)}"
    )


def stop(config: ServicesConfig, service: str, grace: float = 30.0) -> bool:
    """Stop one service by its recorded pid; True if a process was stopped."""
    pid = _pid_of(config, service)
    if pid is None:
        config.pid_file(service).unlink(missing_ok=True)
        return False
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        try:  # reap it if it is our child (tests start and stop in one process)
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.3)
    if Path(f"/proc/{pid}").exists():
        log.warning("%s (pid %s) did not stop within %.0fs: killing it", service, pid, grace)
        os.killpg(pid, signal.SIGKILL)
    config.pid_file(service).unlink(missing_ok=True)
    log.info("stopped %s (pid %s)", service, pid)
    return True


def start_all(config: ServicesConfig) -> None:
    start(config, "metastore")
    try:
        start(config, "thrift")
    except ServiceError:
        stop(config, "metastore")
        raise


def stop_all(config: ServicesConfig) -> None:
    for service in reversed(SERVICES):
        stop(config, service)


def status(config: ServicesConfig) -> dict[str, str]:
    result = {}
    for service in SERVICES:
        pid = _pid_of(config, service)
        where = f"{config.host}:{config.port(service)}"
        if pid is None:
            result[service] = f"stopped ({where})"
        else:
            result[service] = f"{'up' if _ready(config, service) else 'not answering'} pid {pid} on {where}"
    return result
