"""The web desk: mobile pages for secretaries and residents, opened from the chat."""

from bot.desk.app import Desk

__all__ = ["Desk"]
