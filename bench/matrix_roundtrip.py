"""Round trips on a real Synapse, beside the same figure for the minimal nio echo bot
(bench/nio_echo_bot.py) on the same homeserver in the same run:
- `!checkin`: a member's command to the bot's reply, as that member sees it;
- `call`: a member's `call` in their direct room with the bot to the first page, as the paged
  member sees it in theirs (then `call cancel`, untimed). At most 20 rounds: a person may open
  20 requests a day at most (lifeline.max_requests_per_day).
Prints median and p90 of each and their ratios to the echo.

    python bench/matrix_roundtrip.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.nio_echo_bot import run_echo_bot
from tests.matrix_fixtures import Member, bot_settings, members, start_bot
from tests.synapse_server import SynapseServer

MAX_CALLS = 20  # lifeline.max_requests_per_day can be raised to 20, no further


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


async def command_round(member: Member, room: str, bot_id: str, line: str) -> float:
    start = time.perf_counter()
    sent = await member.say(room, line)
    await member.reply_to(sent, bot_id)
    return time.perf_counter() - start


async def call_round(requester: Member, requester_dm: str, responder: Member,
                     responder_dm: str, bot_id: str) -> float:
    seen = {s.source.get("event_id") for s in responder.seen}
    start = time.perf_counter()
    await requester.say(requester_dm, "call")
    await responder.wait_for(lambda s: s.room_id == responder_dm
                             and s.source.get("sender") == bot_id
                             and s.body.startswith("Lifeline page #")
                             and s.source.get("event_id") not in seen, what="the page")
    took = time.perf_counter() - start
    cancel = await requester.say(requester_dm, "call cancel")
    await requester.reply_to(cancel, bot_id)
    return took


async def echo_round(member: Member, room: str, echo_id: str, body: str) -> float:
    start = time.perf_counter()
    await member.say(room, body)
    # The echo bot answers with the same body, not as a reply.
    await member.wait_for(lambda s: s.source.get("sender") == echo_id and s.body == body,
                          what="the echo")
    return time.perf_counter() - start


async def main(rounds: int) -> None:
    async with SynapseServer() as hs:
        tmp = Path(tempfile.mkdtemp(prefix="peercircle-bench-"))
        bot_user = await hs.register("benchbot")
        echo_user = await hs.register("echobot")
        # One page per call, and caps that 20 calls in a row stay under (host defaults: the
        # `circle settings` parser refuses the name pages_per_15_minutes).
        settings = bot_settings(hs, bot_user, tmp).model_copy(update={"circle_defaults": {
            "lifeline": {"wave_size": 1, "max_requests_per_day": MAX_CALLS,
                         "pages_per_15_minutes": 20, "pages_per_night": 50}}})
        bot = await start_bot(settings)
        stop = asyncio.Event()
        echo = asyncio.create_task(run_echo_bot(hs.base_url, echo_user.user_id,
                                                echo_user.access_token, echo_user.device_id,
                                                stop))
        try:
            async with members(hs, tmp, "bencher", "responder") as (member, responder):
                circle = await member.create_room([bot_user.user_id, responder.user_id],
                                                  encrypted=False)
                await member.wait_member(circle, bot_user.user_id)
                await responder.client.join(circle)
                await member.wait_member(circle, responder.user_id)
                for who, line in ((member, "!circle setup name:Bench timezone:UTC"),
                                  (responder, "!join")):
                    said = await who.say(circle, line)
                    await who.reply_to(said, bot_user.user_id)
                dms = []
                for who in (member, responder):
                    dm = await who.create_room([bot_user.user_id], encrypted=False,
                                               is_direct=True)
                    await who.wait_member(dm, bot_user.user_id)
                    dms.append(dm)
                said = await responder.say(dms[1], "available set daily any")
                await responder.reply_to(said, bot_user.user_id)
                echo_room = await member.create_room([echo_user.user_id], encrypted=False)
                await member.wait_member(echo_room, echo_user.user_id)
                # Alternate so both see the same homeserver load over the run.
                ours: list[float] = []
                theirs: list[float] = []
                for i in range(rounds):
                    ours.append(await command_round(member, circle, bot_user.user_id,
                                                    "!checkin 3 benchmarking"))
                    theirs.append(await echo_round(member, echo_room, echo_user.user_id,
                                                   f"ping {i}"))
                calls: list[float] = []
                echoes: list[float] = []
                for i in range(min(rounds, MAX_CALLS)):
                    calls.append(await call_round(member, dms[0], responder, dms[1],
                                                  bot_user.user_id))
                    echoes.append(await echo_round(member, echo_room, echo_user.user_id,
                                                   f"pong {i}"))
        finally:
            stop.set()
            await asyncio.wait_for(echo, 10)
            await bot.halt()
    ms = 1000
    print(f"rounds: {rounds} each, Synapse on {hs.base_url}")
    print(f"peercircle !checkin -> reply: median {statistics.median(ours) * ms:.1f} ms, "
          f"p90 {p90(ours) * ms:.1f} ms")
    print(f"nio echo bot ping -> echo:    median {statistics.median(theirs) * ms:.1f} ms, "
          f"p90 {p90(theirs) * ms:.1f} ms")
    ratio = statistics.median(ours) / statistics.median(theirs)
    print(f"ratio (peercircle / echo):    median {ratio:.2f}x, p90 {p90(ours) / p90(theirs):.2f}x")
    print(f"call -> first page seen by the paged member ({len(calls)} rounds): median "
          f"{statistics.median(calls) * ms:.1f} ms, p90 {p90(calls) * ms:.1f} ms; echo in the "
          f"same stretch: median {statistics.median(echoes) * ms:.1f} ms")
    ratio = statistics.median(calls) / statistics.median(echoes)
    print(f"ratio (call -> page / echo):  median {ratio:.2f}x, p90 "
          f"{p90(calls) / p90(echoes):.2f}x (goal: median <= 3x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    asyncio.run(main(parser.parse_args().rounds))
