"""The service layer: every operation exactly once, called by the HTML and JSON faces, the CLI and the poller."""
