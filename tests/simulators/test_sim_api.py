"""The binary API and API-SSL doors, through librouteros and a raw socket."""

from __future__ import annotations

import hashlib
import socket
import ssl

import pytest
from librouteros.exceptions import FatalError, TrapError
from librouteros.query import Key

from simulators.routeros import Simulator


def test_plain_login_and_print_v7(core, ros):
    api = ros(core)
    resource = next(iter(api.path("system", "resource")))
    assert resource["board-name"]
    assert str(resource["version"]).startswith("7.16.1")
    assert {"uptime", "cpu-load", "free-memory", "total-memory", "architecture-name", "cpu-count",
            "cpu-frequency", "free-hdd-space", "total-hdd-space"} <= set(resource)


def test_plain_login_v6_49(sim, ros):
    api = ros(sim.router("v6"))
    assert next(iter(api.path("system", "identity")))["name"] == "v6"


def test_token_login_on_6_42(sim, ros):
    api = ros(sim.router("old"), legacy=True)
    assert next(iter(api.path("system", "identity")))["name"] == "old"


def test_challenge_is_computed_as_the_manual_says(sim, raw_api):
    old = sim.router("old")
    client = raw_api(old)
    first = client.talk("/login")
    assert first[0][0] == "!done"
    challenge = first[0][1].removeprefix("=ret=")
    assert len(challenge) == 32
    digest = hashlib.md5(b"\x00" + b"admin" + bytes.fromhex(challenge), usedforsecurity=False).hexdigest()
    assert client.talk("/login", "=name=admin", f"=response=00{digest}") == [["!done"]]
    assert client.rows("/system/identity/print") == [{"name": "old"}]


def test_plain_login_to_6_42_only_gets_a_challenge(sim, raw_api):
    client = raw_api(sim.router("old"))
    reply = client.login("admin", "admin")
    assert reply[0][0] == "!done" and reply[0][1].startswith("=ret=")
    trap = client.talk("/system/identity/print")
    assert trap[0] == ["!trap", "=message=not logged in"]


def test_token_login_refused_on_v7(core, raw_api):
    client = raw_api(core)
    assert client.talk("/login")[0] == ["!trap", "=message=invalid user name or password (6)"]


def test_wrong_password_is_a_trap(core, ros):
    with pytest.raises(TrapError, match=r"invalid user name or password \(6\)"):
        ros(core, password="wrong")


def test_wrong_password_md5(sim, ros):
    with pytest.raises(TrapError, match="cannot log in"):
        ros(sim.router("old"), password="wrong", legacy=True)


def test_api_ssl_with_certificate_verification(core, ros):
    api = ros(core, tls=True)
    assert next(iter(api.path("system", "identity")))["name"] == "core-1"


def test_certificate_fingerprint(core):
    context = ssl.create_default_context(cadata=core.cert_pem.decode())
    with socket.create_connection((core.host, core.api_ssl_port), timeout=5) as sock, \
            context.wrap_socket(sock, server_hostname=core.host) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    assert hashlib.sha256(der).hexdigest() == core.cert_fingerprint_sha256


def test_add_set_remove_through_librouteros(core, ros):
    api = ros(core)
    pools = api.path("ip", "pool")
    new_id = pools.add(name="api-pool", ranges="10.77.0.10-10.77.0.20")
    assert new_id.startswith("*")
    pools.update(**{".id": new_id, "comment": "from test"})
    rows = list(pools.select(".id", "name", "comment").where(Key("name") == "api-pool"))
    assert rows == [{".id": new_id, "name": "api-pool", "comment": "from test"}]
    pools.remove(new_id)
    assert not [r for r in pools if r["name"] == "api-pool"]


@pytest.mark.parametrize(
    ("command", "words", "message", "category"),
    [
        ("/ip/pool/add", {"name": "default-dhcp", "ranges": "1.1.1.1-1.1.1.2"}, "failure: already have such entry", 4),
        ("/ip/address/add", {"address": "10.1.1.1/24", "interface": "nope"},
         "input does not match any value of interface", 1),
        ("/ip/address/set", {".id": "*99", "comment": "x"}, "no such item", 0),
        ("/ip/addresss/print", {}, "no such command or directory (addresss)", None),
        ("/ip/address/frobnicate", {}, "no such command or directory (frobnicate)", None),
        ("/interface/add", {"name": "x"}, "no such command or directory (add)", None),
        ("/interface/set", {".id": "ether1", "mtu": "abc"}, "invalid value for argument mtu", 1),
        ("/ip/address/add", {"interface": "ether1"}, "missing value(s) of argument(s) address", 1),
    ],
)
def test_traps_carry_routeros_messages(core, ros, command, words, message, category):
    api = ros(core)
    with pytest.raises(TrapError) as caught:
        tuple(api(command, **words))
    assert caught.value.message == message
    assert caught.value.category == category


def test_trap_sentence_shape(core, raw_api):
    client = raw_api(core)
    client.login("admin", "s3cret")
    reply = client.talk("/ip/address/add", "=address=10.1.1.1/24", "=interface=nope", ".tag=t1")
    assert reply == [
        ["!trap", "=category=1", "=message=input does not match any value of interface", ".tag=t1"],
        ["!done", ".tag=t1"],
    ]


def test_add_returns_ret(core, raw_api):
    client = raw_api(core)
    client.login("admin", "s3cret")
    reply = client.talk("/ip/pool/add", "=name=raw-pool", "=ranges=10.78.0.1-10.78.0.9")
    assert reply[0][0] == "!done"
    assert reply[0][1].startswith("=ret=*")
    client.talk("/ip/pool/remove", f"=.id={reply[0][1][5:]}")


def test_read_only_user_gets_permission_trap(sim, ros):
    router = sim.router("living")
    router.add_user("viewer", "pw", group="read")
    api = ros(router, username="viewer", password="pw")
    assert list(api.path("ip", "pool"))
    with pytest.raises(TrapError) as caught:
        api.path("ip", "pool").add(name="nope", ranges="1.1.1.1-1.1.1.2")
    assert caught.value.message == "not enough permissions (9)"
    assert caught.value.category is None


class TestQueries:
    """Print queries with the stack semantics of the manual, over the raw API."""

    @pytest.fixture
    def client(self, core, raw_api):
        client = raw_api(core)
        client.login("admin", "s3cret")
        return client

    def names(self, client, *words):
        return [row["name"] for row in client.rows("/interface/print", "=.proplist=name", *words)]

    def test_equal(self, client):
        assert self.names(client, "?type=ether") == ["ether1", "ether2", "ether3", "ether4", "ether5"]
        assert self.names(client, "?=name=wlan1") == ["wlan1"]

    def test_or(self, client):
        assert self.names(client, "?type=wlan", "?type=bridge", "?#|") == ["wlan1", "bridge"]

    def test_not_of_or(self, client):
        assert self.names(client, "?type=ether", "?type=wlan", "?#|!") == ["bridge"]

    def test_and(self, client):
        assert self.names(client, "?type=ether", "?running=false", "?#&") == ["ether4"]

    def test_has_and_has_not(self, client):
        assert "bridge" not in self.names(client, "?default-name")
        assert self.names(client, "?-default-name") == ["bridge"]

    def test_greater_less(self, client):
        assert self.names(client, "?>name=ether4") == ["ether5", "wlan1"]
        assert self.names(client, "?<name=ether2") == ["ether1", "bridge"]
        assert self.names(client, "?<mtu=1501", "?type=wlan") == ["wlan1"]

    def test_boolean_words(self, client):
        assert self.names(client, "?running=no") == ["ether4"]

    def test_proplist_and_count_only(self, client):
        rows = client.rows("/interface/print", "=.proplist=.id,name,type", "?type=ether")
        assert all(set(row) == {".id", "name", "type"} for row in rows)
        assert client.talk("/interface/print", "=count-only=", "?type=ether") == [["!done", "=ret=5"]]

    def test_librouteros_query(self, core, ros):
        api = ros(core)
        rows = api.path("interface").select(Key("name")).where(Key("type").In("bridge", "wlan"))
        assert sorted(row["name"] for row in rows) == ["bridge", "wlan1"]


def test_empty_print_on_7_18(sim, raw_api):
    client = raw_api(sim.router("new"))
    client.login("admin", "admin")
    assert client.talk("/ip/address/print", "?interface=nope") == [["!empty"], ["!done"]]
    older = raw_api(sim.router("v6"))
    older.login("admin", "admin")
    assert older.talk("/ip/address/print", "?interface=nope") == [["!done"]]


def test_librouteros_reads_empty(sim, ros):
    api = ros(sim.router("new"))
    assert list(api.path("ip", "address").select(Key("address")).where(Key("interface") == "nope")) == []


def test_tags_and_interleaved_commands(core, raw_api):
    client = raw_api(core)
    client.login("admin", "s3cret")
    client.send("/system/identity/print", ".tag=a")
    client.send("/system/clock/print", ".tag=b")
    seen = [client.read() for _ in range(4)]
    assert [s[-1] for s in seen] == [".tag=a", ".tag=a", ".tag=b", ".tag=b"]
    assert seen[0][:2] == ["!re", "=name=core-1"]


def test_listen_and_cancel(core, raw_api):
    client = raw_api(core)
    client.login("admin", "s3cret")
    client.send("/ip/pool/listen", ".tag=watch")
    client.talk("/system/identity/print")  # the listen is registered once a later command is answered
    core.execute("/ip/pool/add", {"name": "heard", "ranges": "10.79.0.1-10.79.0.2"})
    event = client.read()
    assert event[0] == "!re" and "=name=heard" in event and event[-1] == ".tag=watch"
    core.execute("/ip/pool/remove", {".id": "heard"})
    dead = client.read()
    assert "=.dead=yes" in dead
    client.send("/cancel", "=tag=watch", ".tag=c")
    reply = [client.read() for _ in range(3)]
    assert reply == [
        ["!trap", "=category=2", "=message=interrupted", ".tag=watch"],
        ["!done", ".tag=watch"],
        ["!done", ".tag=c"],
    ]


def test_quit_sends_fatal(core, raw_api):
    client = raw_api(core)
    client.login("admin", "s3cret")
    assert client.talk("/quit") == [["!fatal", "session terminated on request"]]
    with pytest.raises(ConnectionError):
        client.read()


def test_librouteros_fatal_on_quit(core, ros):
    api = ros(core)
    with pytest.raises(FatalError):
        tuple(api("/quit"))


def test_commands_before_login_are_refused(core, raw_api):
    client = raw_api(core)
    assert client.talk("/interface/print")[0] == ["!trap", "=message=not logged in"]


def test_change_visible_through_every_door(core, ros, http, url, ca_file):
    api = ros(core)
    api.path("system", "identity").update(name="renamed")
    try:
        assert http.get(url(core, "system/identity"), auth=("admin", "s3cret")).json() == [{"name": "renamed"}]
        https = f"https://{core.host}:{core.rest_tls_port}/rest/system/identity"
        reply = http.patch(https, json={"name": "core-1"}, auth=("admin", "s3cret"), verify=ca_file(core))
        assert reply.json() == {"name": "core-1"}
        assert next(iter(ros(core, tls=True).path("system", "identity")))["name"] == "core-1"
    finally:
        core.execute("/system/identity/set", {"name": "core-1"})


def test_in_process_interface(core, sim: Simulator):
    assert sim.router("core-1") is core
    assert (core.name, core.version, core.username, core.password) == ("core-1", "7.16.1", "admin", "s3cret")
    assert all(isinstance(p, int) for p in (core.api_port, core.api_ssl_port, core.rest_port, core.rest_tls_port))
    v6 = sim.router("v6")
    assert v6.rest_port is None and v6.rest_tls_port is None
    mid = sim.router("mid")
    assert mid.rest_port is None and isinstance(mid.rest_tls_port, int)
    rows = core.execute("/ip/address/print", {"?interface": "ether1"})
    assert len(rows) == 1 and rows[0]["interface"] == "ether1"
