"""Logging failures without content. An exception's message can carry what a member wrote
(a database error quotes its parameters), so above DEBUG only its type and where it was raised
are logged; the whole exception goes to DEBUG."""

from __future__ import annotations

import logging
import traceback


def log_failure(logger: logging.Logger, message: str, *args: object,
                exc: BaseException) -> None:
    frames = "".join(traceback.format_tb(exc.__traceback__))
    logger.error(message + " (%s)\n%s", *args, kind(exc), frames.rstrip())
    logger.debug(message, *args, exc_info=exc)


def kind(exc: BaseException) -> str:
    """The exception's type, and for a database error the driver's error class and SQLSTATE
    (a deadlock and a lost connection both arrive as DBAPIError; these say which, with no
    content)."""
    name = type(exc).__name__
    orig = getattr(exc, "orig", None)
    cause = getattr(orig, "__cause__", None) or orig
    if cause is None:
        return name
    state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    detail = type(cause).__name__ + (f" {state}" if state else "")
    return f"{name}: {detail}"
