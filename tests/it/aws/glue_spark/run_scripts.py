"""Runs lakectl's generated Glue scripts on one local Spark (local[2]), one after another, as
Glue runs a script: `sys.argv` holds Glue's arguments (--JOB_NAME, and the reserved
--JOB_RUN_ID Glue adds). Reads a JSON list of {"script", "argv", "list"} on stdin; prints one
line per run, RESULT and JSON: {"ok": true} or {"ok": false, "error": ...}, with "files": the
files under each directory of "list" after the run (Hadoop's .crc files left out). One
SparkSession serves every run (the script takes it with SparkContext.getOrCreate), so the JVM
starts once."""

import json
import os
import sys
import traceback

from pyspark import SparkConf
from pyspark.context import SparkContext

# Tuned for many tiny jobs on a busy machine (the script's results do not depend on it): no
# UI, two shuffle partitions, the JVM's quick compiler only, no code generation or adaptive
# planning (compiling each tiny query costs more than running it).
conf = (SparkConf().setMaster("local[2]").setAppName("lakectl-glue-tests")
        .set("spark.ui.enabled", "false").set("spark.sql.shuffle.partitions", "2")
        .set("spark.driver.memory", "1g").set("spark.sql.session.timeZone", "UTC")
        .set("spark.driver.extraJavaOptions", "-XX:+UseSerialGC -XX:TieredStopAtLevel=1")
        .set("spark.sql.codegen.wholeStage", "false").set("spark.sql.adaptive.enabled", "false"))
sc = SparkContext.getOrCreate(conf)
sc.setLogLevel("ERROR")



def files(root):
    return sorted(os.path.relpath(os.path.join(top, f), root)
                  for top, _, names in os.walk(root) for f in names if not f.endswith(".crc"))


for run in json.load(sys.stdin):
    sys.argv = run["argv"]
    try:
        with open(run["script"]) as f:
            code = compile(f.read(), run["script"], "exec")
        exec(code, {"__name__": "__main__"})
        result = {"ok": True}
    except Exception as e:  # the run's failure is the answer, as Glue reports it
        result = {"ok": False, "error": "%s: %s" % (type(e).__name__, e),
                  "trace": traceback.format_exc()}
    result["files"] = {d: files(d) for d in run.get("list", [])}
    print("RESULT " + json.dumps(result), flush=True)
sc.stop()
