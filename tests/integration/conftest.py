"""Fixtures for the integration tests (see harness.py).

pg_cluster      session: one shared throwaway PostgreSQL cluster (skips without PostgreSQL)
db              function: a fresh, empty database in that cluster
start_havend    function: start_havend(database=db, config=..., args=..., env=...) -> Havend;
                every server still running at the end is stopped and checked (exit 0, no
                sanitizer report)
havend          function: one started havend on db
private_pg      function: a cluster of the test's own, which it may stop and start
"""

import signal

import pytest

import harness


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config):
    # A SIGTERM (for example from `timeout` in scripts/test) unwinds like Ctrl-C, so the
    # fixtures still stop havend and remove the throwaway PostgreSQL clusters.
    signal.signal(signal.SIGTERM, _interrupt)


def pytest_report_header(config):
    return [f"havend: {harness.havend_binary()}", f"postgresql: {harness.pg_bindir()}"]


@pytest.fixture(scope="session")
def pg_cluster():
    if harness.pg_bindir() is None:
        pytest.skip("PostgreSQL server programs (initdb, pg_ctl) are not installed")
    cluster = harness.PgCluster(name="shared")
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def db(pg_cluster, request):
    return pg_cluster.create_database(request.node.name)


@pytest.fixture
def private_pg():
    if harness.pg_bindir() is None:
        pytest.skip("PostgreSQL server programs (initdb, pg_ctl) are not installed")
    cluster = harness.PgCluster(name="private")
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def havend_binary():
    binary = harness.havend_binary()
    if not binary.exists():
        pytest.fail(f"havend binary not found at {binary}: build it or set HAVEND", False)
    return binary


@pytest.fixture
def start_havend(tmp_path, havend_binary, request):
    servers = []

    def start(database=None, database_url=None, **kw):
        if database_url is None:
            if database is None:
                database = request.getfixturevalue("db")
            database_url = database.url
        server = harness.Havend(tmp_path, database_url, binary=havend_binary, **kw)
        servers.append(server)
        return server.start()

    yield start

    problems = []
    for server in servers:
        if server.running:
            try:
                server.stop()
            except AssertionError as e:
                problems.append(str(e))
        elif server.proc is not None and server.returncode is None:
            # Exited on its own without a test looking at it.
            server.returncode = server.proc.wait()
        if server.proc is not None:
            reports = harness.sanitizer_reports(server.log_text())
            if reports and not any("sanitizer" in p for p in problems):
                problems.append("sanitizer report in havend's stderr:\n" + server.log_text())
    if problems:
        pytest.fail("\n\n".join(problems), False)


@pytest.fixture
def havend(start_havend, db):
    return start_havend(db)
