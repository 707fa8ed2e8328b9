"""The pulse survey's questions: four answered 1-5 and one in the member's own words."""

from __future__ import annotations

from bot.answer import Action
from bot.texts import Texts

SCALED = (1, 2, 3, 4)  # answered 1-5
FREE = 5  # answered in words, or left
LAST = FREE
MIN_SHOWN = 3  # fewer answers than this (or texts) and nothing is shown
# Keycaps without the variation selector: Matrix reactions are compared with it taken away.
EMOJI = tuple(f"{n}\u20e3" for n in range(1, 6))


def ask(t: Texts, survey_id: int, question: int) -> tuple[str, tuple[Action, ...]]:
    """One question as a DM: its text and, for a 1-5 question, one action per answer."""
    head = t("survey.question_of", n=question, total=LAST)
    if question == FREE:
        return (f"{head} {t('survey.q5')}\n"
                + t("survey.q5_how", line=f"survey answer {survey_id} {FREE} ..."), ())
    actions = tuple(Action(id=f"pulse-{survey_id}-{question}-{v}", label=f"survey.value_{v}",
                           command="survey answer", args=(str(survey_id), str(question), str(v)),
                           emoji=EMOJI[v - 1]) for v in range(1, 6))
    return f"{head} {t(f'survey.q{question}')}\n{t('survey.scale')}", actions
