"""The runtime: settings, command line, platform adapters, web server."""
