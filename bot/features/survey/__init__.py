"""The quarterly pulse survey: anonymous, a few 1-5 questions and one free text, sent by DM
with the answers as actions; one reminder; closed after a week; the counts posted to the room
only when at least three answered, free text quoted only when at least three wrote one and the
circle chose to share it. Answers are stored with no link to who gave them; the separate "has
answered" marks that stop a second answer are deleted at close."""

from bot.features.survey import commands  # noqa: F401  (register)
from bot.features.survey.feature import feature

__all__ = ["feature"]
