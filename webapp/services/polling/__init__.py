"""The fleet poller in parts: reads (network half), ingest (database half), cycle, scheduling, overview.

:mod:`webapp.services.poller` runs them in a loop and exports the names the rest of the app uses.
"""
