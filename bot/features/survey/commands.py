"""`survey [show]`, `survey open [share:yes|no]` (stewards) and `survey answer`, and the
survey's timers: each member's invitation (held past their quiet hours), one reminder, the
close with its result."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, select, update

from bot.answer import Answer
from bot.commands import NOTE_LIMIT, Arg, Kind, Who
from bot.context import Ctx, UserError
from bot.features.nudges import waking_at
from bot.features.rotation import pauses_until
from bot.features.survey.feature import feature
from bot.features.survey.models import PulseAnswered, PulseSurvey, PulseTally
from bot.features.survey.questions import LAST, MIN_SHOWN, SCALED, ask
from bot.membership import lock_circle, member_of, party
from bot.texts import Texts
from storage.models import Circle, Member, Person

log = logging.getLogger(__name__)


OPEN_FOR = timedelta(days=7)
REMIND_AFTER = timedelta(days=4)


@dataclass(frozen=True)
class SurveyInvite:
    survey_id: int
    member_id: int
    reminder: bool


@dataclass(frozen=True)
class SurveyRemind:
    survey_id: int


@dataclass(frozen=True)
class SurveyClose:
    survey_id: int


def _when(t: Texts, circle: Circle, instant: datetime) -> str:
    return t.when(instant, circle.timezone)


async def _open_one(ctx: Ctx, circle_id: int) -> PulseSurvey | None:
    return (await ctx.session.execute(
        select(PulseSurvey).where(PulseSurvey.circle_id == circle_id,
                                  PulseSurvey.state == "open"))).scalars().first()


@feature.command("survey show", who=Who.CIRCLE)
async def show(ctx: Ctx, args: dict[str, Any]) -> str:
    circle = ctx.circle
    assert circle is not None
    survey = await _open_one(ctx, circle.id)
    if survey is None:
        return ctx.t("survey.none_open")
    return ctx.t("survey.is_open", until=_when(ctx.texts, circle, survey.closes_at),
                 tz=circle.timezone)


@feature.command("survey open", Arg("share", Kind.BOOL, default=False, help="arg.survey.share"),
                 who=Who.STEWARD)
async def open_(ctx: Ctx, args: dict[str, Any]) -> str:
    circle = ctx.circle
    assert circle is not None
    await lock_circle(ctx, circle.id)  # two stewards at once: one survey
    found = await _open_one(ctx, circle.id)
    if found is not None:
        raise UserError(ctx.t("err.survey_open",
                              until=_when(ctx.texts, circle, found.closes_at)))
    survey = PulseSurvey(circle_id=circle.id, state="open", share_text=bool(args["share"]),
                         opened_at=ctx.now, closes_at=ctx.now + OPEN_FOR)
    ctx.session.add(survey)
    await ctx.session.flush()
    # Every counter now, so that answering later inserts nothing (an insert's order would say
    # whose it was).
    ctx.session.add_all([PulseTally(survey_id=survey.id, question=q, value=v, n=0)
                         for q in SCALED for v in range(1, 6)])
    members = (await ctx.session.execute(
        select(Member.id).where(Member.circle_id == circle.id).order_by(Member.id))).scalars()
    for member_id in list(members):
        await _invite(ctx, survey, circle, member_id, reminder=False)
    await ctx.schedule(SurveyRemind(survey.id), ctx.now + REMIND_AFTER,
                       f"survey:{survey.id}:remind")
    await ctx.schedule(SurveyClose(survey.id), survey.closes_at, f"survey:{survey.id}:close")
    t = ctx.circle_texts(circle)
    ctx.post(circle, t("survey.opened_share" if survey.share_text else "survey.opened",
                       until=_when(t, circle, survey.closes_at), least=MIN_SHOWN))
    return ctx.t("survey.open_done")


async def _invite(ctx: Ctx, survey: PulseSurvey, circle: Circle, member_id: int,
                  reminder: bool) -> None:
    """Now, or when the member's quiet hours end; not while paused; a reminder only to those
    who have not answered anything."""
    if member_id in await pauses_until(ctx.session, [member_id], ctx.now):
        return
    if reminder and (await ctx.session.execute(
            select(PulseAnswered.member_id).where(PulseAnswered.survey_id == survey.id,
                                                  PulseAnswered.member_id == member_id)
            .limit(1))).first() is not None:
        return
    when, quiet_from = await waking_at(ctx.session, member_id, circle, ctx.now)
    if when > ctx.now:
        if when < survey.closes_at:
            await ctx.schedule(SurveyInvite(survey.id, member_id, reminder), when,
                               f"survey:{survey.id}:{'remind' if reminder else 'invite'}:"
                               f"{member_id}")
        return
    who = await party(ctx, member_id)
    if who is None:
        return
    t = ctx.texts_for(who.person, circle)
    text, actions = ask(t, survey.id, 1)
    intro = t("survey.reminder" if reminder else "survey.invite", circle=circle.name,
              until=_when(t, circle, survey.closes_at), least=MIN_SHOWN)
    share = t("survey.share_yes" if survey.share_text else "survey.share_no", least=MIN_SHOWN)
    ctx.dm(who.person, f"{intro}\n{share}\n{text}", actions=actions,
           label=f"survey:{survey.id}:{'remind' if reminder else 'invite'}:{member_id}",
           expires_at=min(quiet_from, survey.closes_at))


@feature.timer("survey.invite", SurveyInvite)
async def invite_due(ctx: Ctx, p: SurveyInvite) -> None:
    survey = await ctx.session.get(PulseSurvey, p.survey_id)
    if survey is None or survey.state != "open" or ctx.now >= survey.closes_at:
        return
    circle = await ctx.session.get(Circle, survey.circle_id)
    if circle is not None and await ctx.session.get(Member, p.member_id) is not None:
        await _invite(ctx, survey, circle, p.member_id, p.reminder)


@feature.timer("survey.remind", SurveyRemind)
async def remind_due(ctx: Ctx, p: SurveyRemind) -> None:
    survey = await ctx.session.get(PulseSurvey, p.survey_id)
    if survey is None or survey.state != "open" or ctx.now >= survey.closes_at:
        return
    circle = await ctx.session.get(Circle, survey.circle_id)
    if circle is None:
        return
    members = (await ctx.session.execute(
        select(Member.id).where(Member.circle_id == circle.id).order_by(Member.id))).scalars()
    for member_id in list(members):
        await _invite(ctx, survey, circle, member_id, reminder=True)


@feature.command("survey answer",
                 Arg("survey", Kind.INT, required=True, minimum=1, help="arg.survey.id"),
                 Arg("question", Kind.INT, required=True, minimum=1, maximum=LAST,
                     help="arg.survey.question"),
                 Arg("answer", Kind.REST, required=True, max_len=NOTE_LIMIT,
                     help="arg.survey.answer"),
                 who=Who.ANYONE, private=True)
async def answer(ctx: Ctx, args: dict[str, Any]) -> Answer:
    person = ctx.person
    assert person is not None
    survey = await ctx.session.get(PulseSurvey, args["survey"])
    circle = await ctx.session.get(Circle, survey.circle_id) if survey else None
    member = await member_of(ctx.session, circle, person) if circle else None
    if survey is None or circle is None or member is None:
        raise UserError(ctx.t("err.survey_unknown", id=args["survey"]))
    t = ctx.texts_for(person, circle)
    if survey.state != "open":
        raise UserError(t("err.survey_closed"))
    question: int = args["question"]
    words = args["answer"].strip()
    value: int | None = None
    if question in SCALED:
        if words not in ("1", "2", "3", "4", "5"):
            raise UserError(t("err.survey_value", value=words[:20], n=question))
        value = int(words)
    elif not words:
        raise UserError(t("err.survey_empty"))
    # One member's answers one after the other (two quick presses): the second sees the mark.
    await ctx.session.execute(select(Member.id).where(Member.id == member.id).with_for_update())
    already = (await ctx.session.execute(select(PulseAnswered).where(
        PulseAnswered.survey_id == survey.id, PulseAnswered.member_id == member.id,
        PulseAnswered.question == question))).scalar_one_or_none()
    if already is not None:
        raise UserError(t("err.survey_twice", n=question))
    ctx.session.add(PulseAnswered(survey_id=survey.id, member_id=member.id, question=question))
    await _store(ctx, survey, question, value, words)
    if question < LAST:
        text, actions = ask(t, survey.id, question + 1)
        ctx.dm(person, text, actions=actions, label=f"survey:{survey.id}:q{question + 1}")
        return Answer(t("survey.noted"), private=True)
    return Answer(t("survey.done"), private=True)


async def _store(ctx: Ctx, survey: PulseSurvey, question: int, value: int | None,
                 words: str) -> None:
    """Add an answer where it cannot be told from the others (see models.py): a 1-5 answer
    raises its counter, in one statement that rewrites all of the survey's counters; words go
    into the survey's sorted list."""
    if value is not None:
        hit = and_(PulseTally.question == question, PulseTally.value == value)
        await ctx.session.execute(
            update(PulseTally).where(PulseTally.survey_id == survey.id)
            .values(n=PulseTally.n + case((hit, 1), else_=0)))
        return
    # Two members writing at once: one after the other, so neither list loses the other's.
    locked = (await ctx.session.execute(
        select(PulseSurvey).where(PulseSurvey.id == survey.id).with_for_update()
        .execution_options(populate_existing=True))).scalar_one()
    if locked.state != "open":  # closed while this answer waited: its words would outlive it
        raise UserError(ctx.t("err.survey_closed"))
    locked.words = sorted([*locked.words, words])


@feature.timer("survey.close", SurveyClose)
async def close_due(ctx: Ctx, p: SurveyClose) -> None:
    survey = await ctx.session.get(PulseSurvey, p.survey_id)
    if survey is None or survey.state != "open":
        return
    circle = await ctx.session.get(Circle, survey.circle_id)
    await close(ctx, survey, circle)


async def close(ctx: Ctx, survey: PulseSurvey, circle: Circle | None) -> None:
    """Count, post (or withhold), then forget who answered and what they wrote."""
    respondents = int((await ctx.session.execute(
        select(func.count(func.distinct(PulseAnswered.member_id)))
        .where(PulseAnswered.survey_id == survey.id))).scalar_one())
    survey.respondents, survey.state, survey.closed_at = respondents, "closed", ctx.now
    if circle is not None:
        t = ctx.circle_texts(circle)
        if respondents < MIN_SHOWN:
            ctx.post(circle, t("survey.withheld", least=MIN_SHOWN), label="withheld")
        else:
            ctx.post(circle, await _result(ctx, survey, t), label="result")
            survey.posted = True
    await ctx.session.execute(delete(PulseAnswered).where(PulseAnswered.survey_id == survey.id))
    survey.words = []
    log.info("pulse survey %s closed: %d answered", survey.id, respondents)


async def _result(ctx: Ctx, survey: PulseSurvey, t: Any) -> str:
    rows = (await ctx.session.execute(
        select(PulseTally.question, PulseTally.value, PulseTally.n)
        .where(PulseTally.survey_id == survey.id))).all()
    counts = {(q, v): n for q, v, n in rows}
    lines = [t("survey.result_head", n=survey.respondents)]
    for q in SCALED:
        per = [counts.get((q, v), 0) for v in range(1, 6)]
        if sum(per) < MIN_SHOWN:  # one or two answers to a question could be told apart
            lines.append(t("survey.result_line_few", n=q, question=t(f"survey.q{q}"),
                           least=MIN_SHOWN))
            continue
        spread = "  ".join(f"{v}: {n}" for v, n in zip(range(1, 6), per, strict=True))
        lines.append(t("survey.result_line", n=q, question=t(f"survey.q{q}"), spread=spread,
                       count=sum(per)))
    texts = sorted(str(w) for w in survey.words)
    if survey.share_text and len(texts) >= MIN_SHOWN:
        lines.append(t("survey.result_words"))
        lines += [f"“{w}”" for w in texts]
    elif texts:
        lines.append(t("survey.result_words_kept", least=MIN_SHOWN))
    return "\n".join(lines)


@feature.forget_person
async def _forget(ctx: Ctx, person: Person) -> int:
    mine = select(Member.id).where(Member.person_id == person.id)
    gone = await ctx.session.execute(
        delete(PulseAnswered).where(PulseAnswered.member_id.in_(mine)))
    return int(gone.rowcount or 0)  # type: ignore[attr-defined]


@feature.export_person
async def _export(ctx: Ctx, person: Person) -> dict[str, Any]:
    rows = (await ctx.session.execute(
        select(PulseSurvey.id, func.count()).join(
            PulseAnswered, PulseAnswered.survey_id == PulseSurvey.id)
        .join(Member, Member.id == PulseAnswered.member_id)
        .where(Member.person_id == person.id).group_by(PulseSurvey.id))).all()
    # What they answered is not theirs to export: it was never linked to them.
    return {"open_surveys_answered": [{"survey": sid, "questions": n} for sid, n in rows]} \
        if rows else {}
