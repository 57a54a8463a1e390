"""The load generator: an open-model HTTP/1.1 client on asyncio, its latency histogram,
and the SLO verdicts."""
