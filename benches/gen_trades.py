#!/usr/bin/env python3
"""Writes N JSON lines of trade records, ~5% exact duplicates and ~1% malformed lines (deterministic).
usage: gen_trades.py N OUT"""
import json, random, sys

n, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(7)
symbols = ["AMZN", "AAPL", "MSFT", "GOOG", "TSLA", "NFLX", "NVDA", "JPM", "BAC", "WMT"]
recent = []
with open(out, "w") as f:
    for i in range(n):
        r = rng.random()
        if r < 0.05 and recent:
            f.write(rng.choice(recent))
            continue
        if r < 0.06:
            f.write('{"trade_id": %d, "symbol": "AMZN", "price": \n' % i)
            continue
        line = json.dumps({"trade_id": i, "symbol": rng.choice(symbols), "side": rng.choice(["BUY", "SELL"]),
                           "quantity": rng.randrange(1, 500), "price": round(rng.uniform(20, 900), 2),
                           "trader": "trader-%03d" % rng.randrange(1, 200),
                           "ts": "2026-11-%02dT%02d:%02d:%02dZ" % (rng.randrange(1, 29), rng.randrange(24), rng.randrange(60), rng.randrange(60))}) + "\n"
        recent.append(line)
        if len(recent) > 1000:
            recent.pop(0)
        f.write(line)
