"""Logging failures without content. An exception's message can carry what a member wrote
(a database error quotes its parameters), so above DEBUG only its type and where it was raised
are logged; the whole exception goes to DEBUG."""

from __future__ import annotations

import logging
import traceback


def log_failure(logger: logging.Logger, message: str, *args: object,
                exc: BaseException) -> None:
    frames = "".join(traceback.format_tb(exc.__traceback__))
    logger.error(message + " (%s)\n%s", *args, type(exc).__name__, frames.rstrip())
    logger.debug(message, *args, exc_info=exc)
