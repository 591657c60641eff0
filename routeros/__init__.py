"""RouterOS driver: the binary API (8728/8729) and REST behind one client interface.

>>> from routeros import RouterConfig, open_client
>>> with open_client(RouterConfig(host="10.0.0.1", port=8728, password="...")) as client:  # doctest: +SKIP
...     client.identity()
"""

from __future__ import annotations

from routeros import errors, values
from routeros.api import ApiClient
from routeros.base import Client, Command, Result
from routeros.client import open_client, probe_protocol, resolve_protocol
from routeros.config import RouterConfig
from routeros.errors import RouterOSError
from routeros.pool import ClientPool
from routeros.rest import RestClient

__all__ = [
    "ApiClient",
    "Client",
    "ClientPool",
    "Command",
    "RestClient",
    "Result",
    "RouterConfig",
    "RouterOSError",
    "errors",
    "open_client",
    "probe_protocol",
    "resolve_protocol",
    "values",
]
