"""Round trip on a real Synapse: a member's `!checkin` to the peercircle bot's reply as the member
sees it, beside the same figure for the minimal nio echo bot (bench/nio_echo_bot.py) on the same
homeserver in the same run. Prints median and p90 of each and their ratio.

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


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


async def command_round(member: Member, room: str, bot_id: str, line: str) -> float:
    start = time.perf_counter()
    sent = await member.say(room, line)
    await member.reply_to(sent, bot_id)
    return time.perf_counter() - start


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
        bot = await start_bot(bot_settings(hs, bot_user, tmp))
        stop = asyncio.Event()
        echo = asyncio.create_task(run_echo_bot(hs.base_url, echo_user.user_id,
                                                echo_user.access_token, echo_user.device_id,
                                                stop))
        try:
            async with members(hs, tmp, "bencher") as (member,):
                circle = await member.create_room([bot_user.user_id], encrypted=False)
                await member.wait_member(circle, bot_user.user_id)
                setup = await member.say(circle, "!circle setup name:Bench timezone:UTC")
                await member.reply_to(setup, bot_user.user_id)
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    asyncio.run(main(parser.parse_args().rounds))
