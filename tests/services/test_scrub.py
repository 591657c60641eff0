"""The command history and the audit trail keep no RouterOS secret: one row per secret-bearing field."""

from __future__ import annotations

import pytest

from webapp.services.audit import MASK, scrub

#: (menu, field) pairs where RouterOS carries a secret.
SECRET_FIELDS = [
    ("user", "password"),
    ("ip/hotspot/user", "password"),
    ("ppp/secret", "password"),
    ("interface/wifi/security", "passphrase"),
    ("certificate/import", "passphrase"),
    ("interface/wireless/security-profiles", "wpa-pre-shared-key"),
    ("interface/wireless/security-profiles", "wpa2-pre-shared-key"),
    ("interface/wireguard", "private-key"),
    ("interface/wireguard/peers", "preshared-key"),
    ("radius", "secret"),
    ("ip/ipsec/identity", "secret"),
    ("interface/l2tp-server/server", "ipsec-secret"),
    ("snmp/community", "authentication-password"),
    ("snmp/community", "encryption-password"),
    ("snmp/community", "name"),
    ("snmp", "trap-community"),
    ("routing/bgp/connection", "tcp-md5-key"),
    ("tool/e-mail", "password"),
    ("interface/ovpn-client", "password"),
    ("ip/smb/users", "password"),
    ("system/ntp/key", "key"),
]


@pytest.mark.parametrize(("path", "field"), SECRET_FIELDS, ids=[f"{p}:{f}" for p, f in SECRET_FIELDS])
def test_secret_field_is_masked(path: str, field: str) -> None:
    cleaned = scrub({field: "hunter2-secret-value", "comment": "kept"}, path)
    assert cleaned[field] == MASK
    assert cleaned["comment"] == "kept"


def test_secrets_inside_lists_and_nested_objects_are_masked() -> None:
    cleaned = scrub({"rows": [{"name": "u", "password": "p"}], "inner": {"passphrase": "x"}}, "user")
    assert cleaned == {"rows": [{"name": "u", "password": MASK}], "inner": {"passphrase": MASK}}


def test_ordinary_fields_stay_readable() -> None:
    row = {"name": "ether1", "mtu": "1500", "comment": "uplink", "disabled": "false"}
    assert scrub(row, "interface") == row
