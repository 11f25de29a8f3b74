# SPDX-License-Identifier: MIT
"""Fixtures of the black-box integration suite: start torii on ephemeral ports with a private
prefix, talk to its Admin API, open raw connections to its proxy, run test upstreams, and stop
it at the end (failing the test when it crashed or a sanitizer reported an error)."""

import sys
import types

import pytest

import harness
from harness import Torii, finish_torii
from rawhttp import RawConn
from upstreams import UpstreamServer, echo_behaviour


def pytest_configure(config):
    config.addinivalue_line("markers", "big: moves a large body (1 GiB, 256 MiB under ASan)")
    config.addinivalue_line("markers", "slow: waits on timeouts for a few seconds")
    config.addinivalue_line("markers", "sqlite_file: reads or writes the node's SQLite file "
                                       "itself (skipped when the suite runs on PostgreSQL)")


def pytest_collection_modifyitems(config, items):
    if harness.TEST_DATABASE != "postgres":
        return
    skip = pytest.mark.skip(reason="inspects the SQLite file; the suite runs on PostgreSQL")
    for item in items:
        if "sqlite_file" in item.keywords:
            item.add_marker(skip)


# ---------------------------------------------------------------------------------------------
# Fixtures

@pytest.fixture
def torii_factory(tmp_path):
    """make(settings=None, config_file=None, ssl_port=False, start=True, faketime=False)
    -> Torii (faketime: under libfaketime, see Torii.shift_clock)."""
    nodes = []

    def make(settings=None, config_file=None, ssl_port=False, start=True, faketime=False):
        t = Torii(tmp_path / ("node%d" % len(nodes)), settings, config_file, ssl_port,
                  faketime)
        nodes.append(t)
        if start:
            t.start()
        return t

    yield make
    problems = []
    for t in nodes:
        problems += finish_torii(t)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def torii(torii_factory):
    return torii_factory()


@pytest.fixture
def admin(torii):
    return torii.admin


@pytest.fixture
def upstream_factory():
    """make(behaviour=None, name=...) -> UpstreamServer (echo by default); stopped after."""
    servers = []

    def make(behaviour=None, name="upstream"):
        s = UpstreamServer(behaviour or echo_behaviour(), name)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def echo(upstream_factory):
    return upstream_factory(echo_behaviour(), "echo")


@pytest.fixture
def raw_factory():
    """make(port, timeout=10) -> RawConn, closed at teardown."""
    conns = []

    def make(port, timeout=10.0):
        c = RawConn(port, timeout=timeout)
        conns.append(c)
        return c

    yield make
    for c in conns:
        c.close()


def catalogue_setup(admin, echo):
    """The security catalogue's fixture for /apis: /public and /private to E, /api stripped to
    E's /v1."""
    admin.add_api(name="pub", upstream_url=echo.url, request_path="/public")
    admin.add_api(name="priv", upstream_url=echo.url, request_path="/private")
    admin.add_api(name="api", upstream_url=echo.url + "/v1", request_path="/api",
                  strip_request_path=True)


@pytest.fixture(scope="module")
def gw(tmp_path_factory, request):
    """A node shared by one module, with the catalogue fixture and an echo upstream E.
    Attributes: torii, admin, echo, port (proxy)."""
    echo_srv = UpstreamServer(echo_behaviour(), "E")
    t = Torii(tmp_path_factory.mktemp("gw"))
    try:
        t.start()
        catalogue_setup(t.admin, echo_srv)
    except Exception:
        finish_torii(t)
        echo_srv.stop()
        raise
    ns = types.SimpleNamespace(torii=t, admin=t.admin, echo=echo_srv, port=t.proxy_port)
    yield ns
    problems = finish_torii(t)
    echo_srv.stop()
    if problems:
        if request.session.shouldstop or request.session.shouldfail:
            # -x already stopped the run: this teardown runs at session end, where a
            # failure would only print an internal traceback.
            sys.stderr.write("\nshared torii node: " + "\n".join(problems) + "\n")
        else:
            pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def cat(gw):
    """Per-test view of the shared node: restarted (same prefix) if an earlier test killed
    it, E's records reset before; after the test the node must still be alive and the
    sanitizer silent, else this test fails (once) with the report."""
    t = gw.torii
    if not t.alive():
        t.restart()
    gw.echo.reset()
    yield gw
    problems = []
    if not t.alive():
        problems.append("torii died during this test (exit %s)" % t.proc.returncode)
        t.crash_reported = True
    rep = t.sanitizer_report()
    if rep:
        problems.append("sanitizer report:\n" + rep)
    t.reported_offset = t.stderr_size()
    if problems:
        problems.append("stderr tail:\n" + t.stderr_tail())
        pytest.fail("\n".join(problems), pytrace=False)
