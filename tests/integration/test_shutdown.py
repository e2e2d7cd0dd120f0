"""SIGTERM: connected WebSocket clients get close code 1001, and havend exits 0 cleanly."""

import asyncio

from harness import SUBPROTOCOL, ws_connect


def test_sigterm_closes_websockets_with_1001(start_havend, db):
    server = start_havend(db).wait_healthy()
    slug = db.create_meeting("shutdown-test", "Shutdown test")

    async def scenario():
        clients = [await ws_connect(server.ws_url(slug)) for _ in range(2)]
        for ws in clients:
            assert ws.subprotocol == SUBPROTOCOL
        server.terminate()
        await asyncio.wait_for(asyncio.gather(*(ws.wait_closed() for ws in clients)), 10)
        return [ws.close_code for ws in clients]

    codes = asyncio.run(scenario())
    assert codes == [1001, 1001]

    assert server.wait_exit(10) == 0, server.log_text()
    server.assert_clean_log()
