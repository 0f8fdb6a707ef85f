"""PgCluster: a throwaway PostgreSQL 15 cluster for integration tests.

    with PgCluster() as pg:
        pg.sql("CREATE TABLE t (id int PRIMARY KEY)")
        conninfo = pg.dsn(replication="database")

start() initdb's a mktemp directory (owned by the postgres user when we run
as root, because initdb refuses root), picks a free port (bind port 0, close),
and starts the server on 127.0.0.1 only, with its socket in that directory,
wal_level=logical and fsync off. stop() stops it (pg_ctl stop -m fast, then
-m immediate if that fails) and removes the directory; it is idempotent and
runs from __exit__ and from atexit, so no cluster outlives the test process
even when a test fails or raises.

Stdlib only; runs under /usr/bin/python3.
"""
import atexit
import os
import pwd
import shutil
import socket
import subprocess
import tempfile

PG_BIN = os.environ.get("FLOE_PG_BIN", "/usr/lib/postgresql/15/bin")


def _free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


class PgCluster:
    """One PostgreSQL server on a private directory and port."""

    def __init__(self, extra_conf=()):
        self.extra_conf = list(extra_conf)  # more "-c name=value" settings
        self.dir = None
        self.port = None
        self.running = False
        self._as_root = os.geteuid() == 0

    # -- helpers ---------------------------------------------------------
    def _cmd(self, argv):
        """argv run as the postgres user when we are root."""
        if self._as_root:
            return ["runuser", "-u", "postgres", "--"] + argv
        return argv

    def _run(self, argv, timeout=60, check=True, input_text=None):
        r = subprocess.run(self._cmd(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout, input=input_text)
        if check and r.returncode != 0:
            raise RuntimeError("%s failed (%d):\n%s%s" % (" ".join(argv), r.returncode, r.stdout,
                                                          r.stderr))
        return r

    @property
    def data_dir(self):
        return os.path.join(self.dir, "data")

    @property
    def log_path(self):
        return os.path.join(self.dir, "server.log")

    # -- life cycle ------------------------------------------------------
    def start(self):
        if not os.path.exists(os.path.join(PG_BIN, "initdb")):
            raise RuntimeError("PostgreSQL 15 not found at %s (run scripts/deps.sh)" % PG_BIN)
        self.dir = tempfile.mkdtemp(prefix="floe-pg-")
        atexit.register(self.stop)
        try:
            os.chmod(self.dir, 0o755)
            if self._as_root:
                pw = pwd.getpwnam("postgres")
                os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            self._run([os.path.join(PG_BIN, "initdb"), "-D", self.data_dir, "-A", "trust",
                       "--no-sync", "-U", "postgres"], timeout=120)
            for attempt in range(5):
                self.port = _free_port()
                opts = ("-p %d -c listen_addresses=127.0.0.1 -k %s -c wal_level=logical"
                        " -c fsync=off -c max_wal_senders=10 -c max_replication_slots=10"
                        % (self.port, self.dir))
                argv = [os.path.join(PG_BIN, "pg_ctl"), "-D", self.data_dir, "-l", self.log_path,
                        "-o", " ".join([opts] + ["-c %s" % c for c in self.extra_conf]),
                        "-w", "-t", "60", "start"]
                r = self._run(argv, timeout=90, check=False)
                if r.returncode == 0:
                    self.running = True
                    return self
                # Someone took the port between our probe and the server's bind: retry.
                if "Address already in use" not in self.server_log():
                    raise RuntimeError("pg_ctl start failed (%d):\n%s%s\n%s" % (
                        r.returncode, r.stdout, r.stderr, self.server_log()))
            raise RuntimeError("pg_ctl start: no free port after 5 tries")
        except BaseException:
            self.stop()
            raise

    def stop(self):
        """Stops the server and removes its directory; safe to call twice."""
        if self.dir is None:
            return
        # postmaster.pid also covers a server pg_ctl started but timed out on.
        if self.running or os.path.exists(os.path.join(self.data_dir, "postmaster.pid")):
            pg_ctl = os.path.join(PG_BIN, "pg_ctl")
            try:
                r = self._run([pg_ctl, "-D", self.data_dir, "-m", "fast", "-w", "-t", "30", "stop"],
                              timeout=60, check=False)
                if r.returncode != 0:
                    self._run([pg_ctl, "-D", self.data_dir, "-m", "immediate", "-w", "stop"],
                              timeout=60, check=False)
            except subprocess.TimeoutExpired:
                self._run([pg_ctl, "-D", self.data_dir, "-m", "immediate", "-w", "stop"],
                          timeout=60, check=False)
            self.running = False
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None
        try:
            atexit.unregister(self.stop)
        except Exception:
            pass

    def __enter__(self):
        if not self.running:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- using it --------------------------------------------------------
    def dsn(self, dbname="postgres", user="postgres", **extra):
        """A libpq conninfo string over TCP to 127.0.0.1 (extra: more
        keywords, e.g. replication="database")."""
        parts = ["host=127.0.0.1", "port=%d" % self.port, "dbname=%s" % dbname, "user=%s" % user]
        parts += ["%s=%s" % kv for kv in extra.items()]
        return " ".join(parts)

    def sql(self, query, dbname="postgres", check=True):
        """Runs query with psql -At (ON_ERROR_STOP); returns its stdout
        without the trailing newline. Raises RuntimeError on failure when
        check is true."""
        r = self._run([os.path.join(PG_BIN, "psql"), "-X", "-h", "127.0.0.1", "-p", str(self.port),
                       "-U", "postgres", "-d", dbname, "-v", "ON_ERROR_STOP=1", "-At", "-c", query],
                      timeout=60, check=check)
        return r.stdout.rstrip("\n")

    def psql_argv(self, dbname="postgres", user="postgres", *extra):
        """argv of a psql over TCP to this server (no psqlrc, ON_ERROR_STOP
        off, quiet, unaligned tuples only) for a long-lived session fed on
        stdin; extra arguments are appended."""
        return [os.path.join(PG_BIN, "psql"), "-X", "-q", "-At", "-h", "127.0.0.1", "-p",
                str(self.port), "-U", user, "-d", dbname] + list(extra)

    def restart(self, mode="fast"):
        """pg_ctl restart -m MODE on the same port and settings (pg_ctl
        reuses postmaster.opts); waits until it accepts connections."""
        self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data_dir, "-l", self.log_path,
                   "-m", mode, "-w", "-t", "60", "restart"], timeout=120)
        self.running = True

    def server_log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""
