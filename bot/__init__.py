"""The runtime: settings, command line, platform adapters, web server."""

import os

# python-telegram-bot's coming behaviour, chosen now: a 429's `retry_after` is a timedelta
# (bot/ratelimit.py reads it so); otherwise every 429 logs a deprecation warning.
os.environ.setdefault("PTB_TIMEDELTA", "1")
