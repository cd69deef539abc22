#!/usr/bin/env python3
"""Generates the demo lake's data files (deterministic; run again to reproduce them).

data.json          trade records, JSON lines, with a few exact duplicates and one malformed line
customers.csv      Faker-style profiles
credit_cards.csv   card numbers (valid Luhn, real issuer prefixes), expiry, security code
bank.csv           IBAN (valid mod-97), BBAN, and account numbers XYZ-n (the seed's custom identifier)
"""
import csv, json, random

rng = random.Random(20261121)
FIRST = "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Lena Omar Aiko Mateo Priya Chen Fatima Lucas Ingrid Tomasz".split()
LAST = "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson".split()
STREETS = "Maple Oak Pine Cedar Elm Washington Lake Hill Sunset Park River Church Main Highland Forest".split()
CITIES = [("Seattle", "WA", "981"), ("Austin", "TX", "787"), ("Denver", "CO", "802"), ("Boston", "MA", "021"), ("Portland", "OR", "972"), ("Chicago", "IL", "606")]
JOBS = "Engineer,Nurse,Accountant,Teacher,Designer,Pharmacist,Electrician,Analyst,Chef,Architect".split(",")
SYMBOLS = "AMZN AAPL MSFT GOOG TSLA NFLX NVDA JPM BAC WMT".split()

def luhn_complete(prefix, length):
    digits = [int(c) for c in prefix]
    while len(digits) < length - 1:
        digits.append(rng.randrange(10))
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9: d -= 9
        total += d
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)

def iban(country, bban):
    rearranged = bban + country + "00"
    num = int("".join(str(int(c, 36)) for c in rearranged))
    return f"{country}{98 - num % 97:02d}{bban}"

def bban_for(country):
    if country == "DE": return "".join(str(rng.randrange(10)) for _ in range(18))
    if country == "GB": return "NWBK" + "".join(str(rng.randrange(10)) for _ in range(14))
    if country == "FR": return "".join(str(rng.randrange(10)) for _ in range(23))
    return "".join(str(rng.randrange(10)) for _ in range(20))  # ES

with open("customers.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["customer_id", "username", "name", "sex", "address", "mail", "birthdate", "job", "phone"])
    for i in range(1, 201):
        fn, ln = rng.choice(FIRST), rng.choice(LAST)
        city, st, zp = rng.choice(CITIES)
        w.writerow([i, f"{fn.lower()}{ln.lower()[:3]}{rng.randrange(10, 99)}", f"{fn} {ln}", rng.choice("MF"),
                    f"{rng.randrange(100, 9999)} {rng.choice(STREETS)} St, {city}, {st} {zp}{rng.randrange(10, 99)}",
                    f"{fn.lower()}.{ln.lower()}@example.com", f"{rng.randrange(1950, 2004)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                    rng.choice(JOBS), f"+1-{rng.randrange(201, 989)}-555-{rng.randrange(1000, 9999)}"])

with open("credit_cards.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["customer_id", "credit_card_provider", "credit_card_number", "credit_card_expire", "credit_card_security_code"])
    for i in range(1, 201):
        provider, prefix, length = rng.choice([("VISA 16 digit", "4", 16), ("Mastercard", "5" + str(rng.randrange(1, 6)), 16),
                                               ("American Express", rng.choice(["34", "37"]), 15), ("Discover", "6011", 16)])
        w.writerow([i, provider, luhn_complete(prefix, length), f"{rng.randrange(1, 13):02d}/{rng.randrange(27, 33)}",
                    f"{rng.randrange(0, 10000 if length == 15 else 1000):0{4 if length == 15 else 3}d}"])

with open("bank.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["customer_id", "iban", "bban", "account_number", "bank_country"])
    for i in range(1, 201):
        country = rng.choice(["DE", "GB", "FR", "ES"])
        b = bban_for(country)
        w.writerow([i, iban(country, b), b, f"XYZ-{rng.randrange(1, 100)}", country])

records = []
for i in range(1, 481):
    records.append({"trade_id": i, "symbol": rng.choice(SYMBOLS), "side": rng.choice(["BUY", "SELL"]),
                    "quantity": rng.randrange(1, 500), "price": round(rng.uniform(20, 900), 2),
                    "trader": f"trader-{rng.randrange(1, 25):03d}", "ts": f"2026-11-{rng.randrange(1, 21):02d}T{rng.randrange(9, 17):02d}:{rng.randrange(60):02d}:00Z"})
lines = [json.dumps(r) for r in records]
for j in rng.sample(range(len(lines)), 20):   # exact duplicates, as a replayed feed produces them
    lines.insert(rng.randrange(len(lines)), lines[j])
lines.insert(137, '{"trade_id": 9999, "symbol": "AMZN", "side": "BUY", "quantity": ')   # a cut-off line
with open("data.json", "w") as f:
    f.write("\n".join(lines) + "\n")
