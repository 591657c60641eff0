"""The REST door, through plain requests, reproducing the REST seed's examples."""

from __future__ import annotations

from http import HTTPStatus

import pytest

AUTH = ("admin", "s3cret")


def test_resource_values_are_all_strings(core, http, url):
    reply = http.get(url(core, "system/resource"), auth=AUTH)
    assert reply.status_code == 200
    rows = reply.json()
    assert isinstance(rows, list) and len(rows) == 1
    resource = rows[0]
    assert all(isinstance(value, str) for value in resource.values())
    assert {"architecture-name", "board-name", "cpu-count", "cpu-load", "uptime", "version",
            "total-memory", "free-memory", "platform"} <= set(resource)


def test_get_list_and_single_record(core, http, url):
    rows = http.get(url(core, "ip/address"), auth=AUTH).json()
    assert rows[0][".id"] == "*1"
    assert {"address", "network", "interface", "actual-interface", "disabled", "dynamic", "invalid"} <= set(rows[0])
    assert rows[0]["disabled"] == "false"
    single = http.get(url(core, "ip/address/*1"), auth=AUTH).json()
    assert single == rows[0]


def test_get_by_name(core, http, url):
    ether1 = http.get(url(core, "interface/ether1"), auth=AUTH).json()
    assert ether1["name"] == "ether1" and ether1["type"] == "ether"


def test_get_with_filters_and_proplist(core, http, url):
    rows = http.get(url(core, "ip/address?interface=ether1&dynamic=false"), auth=AUTH).json()
    assert [row["interface"] for row in rows] == ["ether1"]
    rows = http.get(url(core, "ip/address?.proplist=address,disabled"), auth=AUTH).json()
    assert all(set(row) == {"address", "disabled"} for row in rows)


def test_put_patch_delete_cycle(core, http, url):
    created = http.put(url(core, "ip/address"), json={"address": "192.168.111.111", "interface": "ether3"},
                       auth=AUTH)
    assert created.status_code == 200
    item = created.json()
    assert item["address"] == "192.168.111.111/32"
    assert item["network"] == "192.168.111.111"
    assert item["actual-interface"] == "ether3"
    assert item[".id"].startswith("*")
    patched = http.patch(url(core, f"ip/address/{item['.id']}"), json={"comment": "test"}, auth=AUTH)
    assert patched.json() == {**item, "comment": "test"}
    first = http.delete(url(core, f"ip/address/{item['.id']}"), auth=AUTH)
    assert first.status_code == 204 and first.text == ""
    second = http.delete(url(core, f"ip/address/{item['.id']}"), auth=AUTH)
    assert second.status_code == 404
    assert second.json() == {"error": 404, "message": "Not Found"}


def test_post_print_with_proplist_and_query(core, http, url):
    created = http.put(url(core, "ip/address"), json={"address": "192.168.112.1", "interface": "ether2"},
                       auth=AUTH).json()
    try:
        reply = http.post(url(core, "ip/address/print"),
                          json={".proplist": [".id", "address", "interface"],
                                ".query": ["network=192.168.112.1", "interface=ether1", "#|"]},
                          auth=AUTH)
        assert reply.status_code == 200
        rows = reply.json()
        assert {row["interface"] for row in rows} == {"ether1", "ether2"}
        assert all(set(row) == {".id", "address", "interface"} for row in rows)
        names = http.post(url(core, "interface/print"), json={".proplist": "name,type",
                                                              ".query": ["type=ether", "type=wlan", "#|!"]},
                          auth=AUTH).json()
        assert names == [{"name": "bridge", "type": "bridge"}]
    finally:
        http.delete(url(core, f"ip/address/{created['.id']}"), auth=AUTH)


def test_post_add_returns_ret_and_remove_returns_empty_list(core, http, url):
    added = http.post(url(core, "ip/pool/add"), json={"name": "rest-pool", "ranges": "10.80.0.1-10.80.0.5"},
                      auth=AUTH).json()
    assert set(added) == {"ret"}
    removed = http.post(url(core, "ip/pool/remove"), json={".id": added["ret"]}, auth=AUTH)
    assert removed.status_code == 200 and removed.json() == []


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "detail"),
    [
        ("DELETE", "interface/ether1", None, 406, "no such command or directory (remove)"),
        ("GET", "ip/nothing", None, 400, "no such command or directory (nothing)"),
        ("PUT", "ip/address", {"address": "10.0.0.1/24", "interface": "nope"}, 400,
         "input does not match any value of interface"),
        ("PUT", "ip/pool", {"name": "default-dhcp", "ranges": "1.1.1.1-1.1.1.2"}, 400,
         "failure: already have such entry"),
        ("POST", "ip/address/frobnicate", {}, 400, "no such command or directory (frobnicate)"),
        ("PATCH", "ip/address/*1", {"bogus": "1"}, 400, "unknown parameter bogus"),
    ],
)
def test_error_bodies(core, http, url, method, path, body, status, detail):
    reply = http.request(method, url(core, path), json=body, auth=AUTH)
    assert reply.status_code == status
    assert reply.json() == {"error": status, "message": HTTPStatus(status).phrase, "detail": detail}


def test_error_body_shape(core, http, url):
    reply = http.put(url(core, "ip/address"), json={"interface": "ether1"}, auth=AUTH)
    assert reply.json() == {"error": 400, "message": "Bad Request",
                            "detail": "missing value(s) of argument(s) address"}


def test_missing_item_is_404(core, http, url):
    for method in ("GET", "PATCH", "DELETE"):
        reply = http.request(method, url(core, "ip/address/*FF"), json={"comment": "x"}, auth=AUTH)
        assert reply.status_code == 404
        assert reply.json() == {"error": 404, "message": "Not Found"}


def test_bad_credentials_are_401(core, http, url):
    for auth in (("admin", "wrong"), ("ghost", "x"), None):
        reply = http.get(url(core, "system/resource"), auth=auth)
        assert reply.status_code == 401
        assert reply.json() == {"error": 401, "message": "Unauthorized"}
        assert reply.headers["WWW-Authenticate"].startswith("Basic")


def test_read_only_user_is_forbidden_to_write(sim, http, url):
    router = sim.router("doors")
    router.add_user("rest-viewer", "pw", group="read")
    assert http.get(url(router, "ip/pool"), auth=("rest-viewer", "pw")).status_code == 200
    reply = http.put(url(router, "ip/pool"), json={"name": "x", "ranges": "1.1.1.1-1.1.1.2"},
                     auth=("rest-viewer", "pw"))
    assert reply.status_code == 403
    assert reply.json() == {"error": 403, "message": "Forbidden", "detail": "not enough permissions (9)"}


def test_https_with_the_router_certificate(core, http, ca_file):
    reply = http.get(f"https://{core.host}:{core.rest_tls_port}/rest/system/identity", auth=AUTH,
                     verify=ca_file(core))
    assert reply.json() == [{"name": "core-1"}]


def test_https_only_before_7_9(sim, http, ca_file, refused):
    mid = sim.router("mid")
    assert mid.rest_port is None
    reply = http.get(f"https://{mid.host}:{mid.rest_tls_port}/rest/system/resource", auth=("admin", "admin"),
                     verify=ca_file(mid))
    assert reply.status_code == 200


def test_v6_has_no_rest(sim, refused):
    v6 = sim.router("v6")
    assert v6.rest_port is None and v6.rest_tls_port is None
    services = {row["name"]: row for row in v6.execute("/ip/service/print")}
    assert "www" in services


def test_api_and_rest_share_one_state(core, http, url, ros):
    http.put(url(core, "ip/pool"), json={"name": "shared", "ranges": "10.81.0.1-10.81.0.9"}, auth=AUTH)
    pools = ros(core).path("ip", "pool")
    assert [p["ranges"] for p in pools if p["name"] == "shared"] == ["10.81.0.1-10.81.0.9"]
    pools.remove(next(p[".id"] for p in pools if p["name"] == "shared"))
    assert http.get(url(core, "ip/pool/shared"), auth=AUTH).status_code == 404
