"""Finding the member an `@name` means in a circle (shared with other features: it lives in
bot/membership.py)."""

from bot.membership import find_member

__all__ = ["find_member"]
