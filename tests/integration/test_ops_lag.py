"""Event-loop lag stays measured and reported while the server is under a load."""

import asyncio
import time

from ops_help import scrape
from wsclient import Client, run, serve

LAG = "haven_event_loop_lag_seconds"


def test_loop_lag_is_reported_under_load(start_havend, db):
    server = serve(start_havend, db)

    async def scenario():
        people = [await Client.joined(server, f"P{i}") for i in range(6)]
        idle = await asyncio.to_thread(scrape, server)
        scrapes = []
        loaded = True

        async def scraper():
            while loaded:
                scrapes.append((time.monotonic(), await asyncio.to_thread(scrape, server)))
                await asyncio.sleep(0.25)

        async def talk(p, n):
            for i in range(n):
                await p.send({"type": "say", "client_msg_id": f"{p.label}-{i}",
                              "text": f"{p.label} line {i} " + "x" * 200})
                if i % 20 == 19:
                    await asyncio.sleep(0)    # let the other talkers and the scraper run

        task = asyncio.create_task(scraper())
        start = time.monotonic()
        await asyncio.gather(*(talk(p, 100) for p in people))
        total = 100 * len(people)
        for p in people:
            await p.wait_seq(total, timeout=60)
        elapsed = time.monotonic() - start
        loaded = False
        await task
        after = await asyncio.to_thread(scrape, server)
        return idle, scrapes, after, elapsed, total

    idle, scrapes, after, elapsed, total = run(scenario(), timeout=180)
    assert after.value("haven_events_committed_total") == total
    # Every scrape during the load was answered, and each saw the probe go on ticking.
    assert len(scrapes) >= 2, scrapes
    counts = [m.value(LAG + "_count") for _, m in scrapes]
    assert counts == sorted(counts) and counts[-1] > counts[0], counts
    # About one observation per 100 ms of the run, even with the loop busy.
    ticks = after.value(LAG + "_count") - idle.value(LAG + "_count")
    assert ticks >= elapsed / 0.1 * 0.5, (ticks, elapsed)
    assert after.value(LAG + "_sum") > idle.value(LAG + "_sum")
    buckets = after.buckets(LAG)
    assert buckets["+Inf"] == after.value(LAG + "_count")
