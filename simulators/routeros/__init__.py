"""A RouterOS stand-in serving the binary API, API-SSL and REST on loopback for tests, benches and demos.

Imports only :mod:`routeros.protocol` and :mod:`routeros.errors` from the project, so it cannot share a
mistake with the driver it is used to test.

    from simulators.routeros import RouterSpec, Simulator
    with Simulator([RouterSpec(name="core-1", version="7.16.1", password="s3cret")], seed=1) as sim:
        router = sim.router("core-1")        # api_port, api_ssl_port, rest_port, rest_tls_port, cert_pem...
        router.set_fault("latency", ms=300)

Command line: ``python -m simulators.routeros --routers N [--latency-ms L] [--seed S] [--versions 7.16.1,6.49.7]``.

What depends on the version (the choices follow what those RouterOS releases do):

- login: up to 6.42 the MD5 challenge (``/login`` -> ``=ret=<challenge>``, then ``=response=00<md5>``;
  a plain ``=password=`` login only gets a challenge back); from 6.43 only ``=name= =password=``.
- REST: none on v6; from 7.1 over HTTPS (www-ssl); from 7.9 over plain HTTP (www) too.
- ``!empty`` answers a print with no rows from 7.18 (earlier versions send only ``!done``).
- ``/system/clock`` date: ``2023-07-14`` from 7.10, ``jul/14/2023`` before (also in log/user timestamps).
- ``/system/health``: one row of attributes (voltage, temperature) on v6; rows ``name/value/type`` on v7.
- ``/system/license``: ``nlevel`` everywhere, ``level`` on v7, ``upgradable-to`` on v6.
- user-group policies: v7 has ``rest-api``, v6 has ``dude``/``tikapp``.

Administration menus (:mod:`simulators.routeros.system`, each behaviour and its source listed there):
``/export`` (text only through ``file=``; v7 hides secrets unless ``show-sensitive``, v6 shows them unless
``hide-sensitive``), ``/import``, ``/file`` (``contents`` up to 60 KiB on v7, 4 KiB on v6; ``add`` from 7.9),
``/system/script`` + ``run``, ``/system/scheduler`` (fires on the simulated clock, ``startup`` entries after a
reboot), ``/system/package/update`` (check-for-updates, download, install; a ``.npk`` installs at reboot;
``SimRouter.set_upgrade``), CHR/x86 boards (``RouterSpec(board="CHR")``: no routerboard or health menu), and
``SimRouter.run_script(text)``, which runs console text as pasting it into the terminal does.

Traps use the manual's categories: 0 missing item, 1 argument value, 2 interrupted (``/cancel``), 4 general
failure (duplicates, hotspot refusals). Unknown commands, ``not logged in``, login failures and
``not enough permissions (9)`` carry no category. REST maps them to 400 with ``detail``, a missing item to
404 (no detail), a method the menu lacks to 406, permissions to 403 and bad Basic auth to 401.

Fault modes (``SimRouter.set_fault(name, **params)``, switchable at runtime, checked on every reply):

=====================  ==============================================  ==========================================
fault                  binary API / API-SSL                            REST (HTTP / HTTPS)
=====================  ==============================================  ==========================================
refuse                 listeners closed and sessions dropped: refused  same
blackhole              reads, never answers (after the TLS handshake)  never answers while the fault is on
latency (ms)           each reply delayed                              each response delayed
trickle (bytes/s)      replies written a few bytes at a time           body written a few bytes at a time
drop_mid_sentence      half of the first reply sentence, then close    half the body of a longer Content-Length
garbage                framed words that are not ``!`` replies         a body that is not JSON
oversized_length       a 5-byte length announcing a 2 GiB word         (no effect)
control_byte           a reserved control byte 0xF8 first              (no effect)
wrong_credentials      every login refused with the version's trap     401
fatal_login            ``!fatal`` ``not logged in``, then close        (no effect)
rest_html              (no effect)                                     200 text/html webfig page
rest_500               (no effect)                                     500 ``{"error":500,...}``
wrong_types            numbers -> ``unknown``, booleans -> ``maybe``   JSON numbers, booleans and null
=====================  ==============================================  ==========================================

Disabling a service (``set_service_disabled`` or ``/ip/service/disable`` through any door) closes that
listener before the command's reply; enabling binds the same port again.
"""

from __future__ import annotations

from simulators.routeros import hotspot_portal as _hotspot_portal  # noqa: F401 - /tool/fetch, walled garden
from simulators.routeros import system as _system  # noqa: F401 - registers /file, /export, scheduler...
from simulators.routeros.faults import FAULT_PARAMETERS
from simulators.routeros.fleet import Simulator
from simulators.routeros.router import RouterSpec, SimRouter
from simulators.routeros.state import CommandError

#: Every fault mode name accepted by :meth:`SimRouter.set_fault`.
FAULTS = frozenset(FAULT_PARAMETERS)

__all__ = ["FAULTS", "CommandError", "RouterSpec", "SimRouter", "Simulator"]
