#!/usr/bin/env python3
"""padtriage on Apache Spark: `padtriage scan` spread over a cluster's executors.

    spark-submit --files /path/to/padtriage padtriage_spark.py run \
        --inbox s3a://uploads/inbox --results s3a://triage/results
    spark-submit padtriage_spark.py show --results s3a://triage/results [--since 2025-06-01]

`run` lists the bundles (each sub-folder or .zip of every --inbox, or each line of --listing: a
text file of bundle URIs), leaves out the bundles already in the results table with the same
identity, padtriage version and rules digest, spreads the rest over the executors in
partitions, and in each partition runs `padtriage scan --manifest - --format ndjson` once on the
partition's bundles (bundles of an object store, any URI but `file:`, are first copied to a
local temporary folder). The NDJSON rows become a DataFrame (schema: RESULT_SCHEMA below, and
the README's "Batch scans on Spark"), appended to the results table as Parquet partitioned by
scan_date. At the end it prints one JSON line: how many bundles were listed, left out, analysed.

Incremental, as `padtriage scan --db`: a bundle whose listing size and latest modification time
are those of a stored result made with the same padtriage version and rules digest is left out
without being read (an anti-join on metadata); the others are hashed by Spark itself (XXH64,
Spark's xxhash64(), the content hash padtriage computes) and those whose path, size and hash
are stored are left out too (a second anti-join), with a `skipped_unchanged` row that records
their new metadata. Failed bundles are tried again.

The padtriage binary: `--padtriage NAME` (default `padtriage`) is looked up in the files shipped
with the job (`spark-submit --files /path/to/padtriage`, or `--ship PATH` here), then as a path,
then on the executors' PATH (installed on the nodes).

Spark's listing leaves out names beginning with `_` or `.`, which padtriage reads: a bundle
folder holding such files gets a content hash here that differs from `padtriage scan`'s. Spark
reads a file whole into a row: files over 2 GiB cannot be read this way.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import datetime as dt

from pyspark import SparkFiles
from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.utils import AnalysisException

# The results table (Parquet, partitioned by scan_date). Times written by padtriage stay the
# RFC 3339 strings it writes (nanoseconds would not survive a timestamp).
RESULT_SCHEMA = T.StructType([
    T.StructField("scanned_at", T.TimestampType(), False),     # when this job started
    T.StructField("path", T.StringType(), False),              # the bundle's URI, as listed
    T.StructField("bundle_kind", T.StringType(), True),        # folder | zip | file
    T.StructField("size", T.LongType(), True),                 # bytes (sum over a folder)
    T.StructField("files", T.LongType(), True),
    T.StructField("mtime", T.StringType(), True),              # as padtriage saw it
    T.StructField("content_hash", T.StringType(), True),       # xxh64:<16 hex>
    T.StructField("source_size", T.LongType(), True),          # Spark's listing: sum of lengths
    T.StructField("source_mtime", T.TimestampType(), True),    # Spark's listing: latest file
    T.StructField("padtriage_version", T.StringType(), False),
    T.StructField("rules_digest", T.StringType(), False),
    T.StructField("row_schema_version", T.StringType(), True),
    T.StructField("status", T.StringType(), False),            # ok | partial | failed | skipped_unchanged
    T.StructField("why", T.StringType(), True),
    T.StructField("analysed_at", T.StringType(), True),
    T.StructField("duration_ms", T.LongType(), True),
    T.StructField("needs_person", T.BooleanType(), True),
    T.StructField("attention", T.ArrayType(T.StringType()), True),
    T.StructField("problems", T.ArrayType(T.StructType([
        T.StructField("path", T.StringType(), True),
        T.StructField("kind", T.StringType(), True),
        T.StructField("why", T.StringType(), True),
    ])), True),
    T.StructField("runs", T.ArrayType(T.StructType([
        T.StructField("time", T.StringType(), True),
        T.StructField("error_code", T.StringType(), True),
        T.StructField("credential_error", T.BooleanType(), True),
        T.StructField("user", T.StringType(), True),
        T.StructField("machine", T.StringType(), True),
        T.StructField("primary_cause", T.StringType(), True),
        T.StructField("primary_verdict", T.StringType(), True),
        T.StructField("verdicts", T.MapType(T.StringType(), T.StringType()), True),
    ])), True),
    T.StructField("analysis_json", T.StringType(), True),      # the analysis document
    T.StructField("scan_date", T.DateType(), False),           # partition column
])

# What travels to a partition: one row per file of each bundle to analyse.
SHIP_SCHEMA = ["bundle", "kind", "relpath", "mtime_ms", "content"]

GLOB_CHARS = "\\*?[]{}"


def glob_escape(uri):
    """A path Spark would read as a glob pattern, made literal."""
    return "".join("\\" + c if c in GLOB_CHARS else c for c in uri)


def resolve_binary(name):
    """The padtriage binary on this node: shipped with the job, a path, or on PATH."""
    try:
        shipped = SparkFiles.get(os.path.basename(name))
        if os.path.isfile(shipped):
            if not os.access(shipped, os.X_OK):
                os.chmod(shipped, 0o755)
            return shipped
    except Exception:  # no SparkContext files on this node
        pass
    if os.path.isfile(name):
        return name
    found = shutil.which(name)
    if found:
        return found
    raise RuntimeError(
        f"padtriage binary '{name}' not found on this node: ship it with "
        f"`spark-submit --files /path/to/padtriage` (or --ship), or install it on every node"
    )


def engine_info(binary):
    """The padtriage version and rules digest results are made with."""
    out = subprocess.run([resolve_binary(binary), "scan", "--engine-info"],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def qualify(spark, uri):
    """The URI as Spark writes file paths (`file:/x`, `s3a://b/x`), without a trailing slash."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    p = jvm.org.apache.hadoop.fs.Path(uri)
    return p.getFileSystem(conf).makeQualified(p).toString().rstrip("/")


def list_files(spark, uris):
    """Every file under the URIs (path, length, modificationTime), content not read."""
    if not uris:
        return None
    return (spark.read.format("binaryFile")
            .option("recursiveFileLookup", "true")
            .load([glob_escape(u) for u in uris])
            .select("path", "length", "modificationTime"))


def bundles_of_inboxes(spark, inboxes):
    """Files of the inboxes, each with its bundle: the inbox's sub-folder or .zip it is in."""
    roots = [qualify(spark, u) for u in inboxes]
    files = list_files(spark, inboxes)
    cols = []
    for root in roots:
        rel = F.expr("substring(path, {})".format(len(root) + 2))
        first = F.split(rel, "/").getItem(0)
        in_root = F.col("path").startswith(root + "/")
        nested = F.instr(rel, "/") > 0
        cols.append(F.when(in_root & nested, F.struct(
            F.concat(F.lit(root + "/"), first).alias("bundle"),
            F.lit("folder").alias("kind"),
            F.expr("substring(path, {})".format(len(root) + 2)).alias("rel"),
        )).when(in_root & F.lower(first).endswith(".zip"), F.struct(
            F.concat(F.lit(root + "/"), first).alias("bundle"),
            F.lit("zip").alias("kind"),
            F.lit("").alias("rel"),
        )))
    hit = F.coalesce(*cols)
    files = files.withColumn("hit", hit).where(F.col("hit").isNotNull())
    # The bundle folder's own name is not part of the path inside it.
    return files.select(
        "path", "length", "modificationTime",
        F.col("hit.bundle").alias("bundle"), F.col("hit.kind").alias("kind"),
        F.when(F.col("hit.kind") == "folder",
               F.expr("substring(hit.rel, instr(hit.rel, '/') + 1)")).otherwise(F.lit(""))
        .alias("relpath"))


def bundles_of_listing(spark, listing):
    """Files of the bundles a listing names (a bundle URI per line)."""
    lines = [r.value.strip() for r in spark.read.text(listing).collect()]
    uris = [u for u in lines if u and not u.startswith("#")]
    if not uris:
        return None
    bundles = {qualify(spark, u): u for u in uris}
    files = list_files(spark, uris)
    known = spark.sparkContext.broadcast(sorted(bundles))

    @F.udf(T.StructType([T.StructField("bundle", T.StringType()),
                         T.StructField("kind", T.StringType()),
                         T.StructField("relpath", T.StringType())]))
    def owner(path):
        roots = known.value
        if path in roots:
            kind = "zip" if path.lower().endswith(".zip") else "file"
            return (path, kind, "")
        cut = path
        while "/" in cut:
            cut = cut.rsplit("/", 1)[0]
            if cut in roots:
                return (cut, "folder", path[len(cut) + 1:])
        return None

    files = files.withColumn("o", owner("path")).where(F.col("o").isNotNull())
    return files.select("path", "length", "modificationTime",
                        F.col("o.bundle").alias("bundle"), F.col("o.kind").alias("kind"),
                        F.col("o.relpath").alias("relpath"))


def hex16(col):
    return F.lower(F.lpad(F.hex(F.xxhash64(col)), 16, "0"))


def run_partition(binary, threads, timeout):
    """The work of one partition: its bundles' files, sorted by bundle, in; result rows out."""

    def work(rows):
        tmp = tempfile.mkdtemp(prefix="padtriage-spark-")
        try:
            local_to_uri = {}
            manifest = []
            current, n = None, 0
            for r in rows:
                if r.bundle != current:
                    current, n = r.bundle, n + 1
                    if r.content is None:
                        local = r.bundle[len("file:"):]
                    else:
                        name = r.bundle.rsplit("/", 1)[-1]
                        local = os.path.join(tmp, str(n), name)
                        if r.kind == "folder":
                            os.makedirs(local, exist_ok=True)
                    local_to_uri[local] = r.bundle
                    manifest.append(local)
                if r.content is not None:
                    # A copy of an object-store file, with its date (dates are evidence).
                    target = os.path.join(local, r.relpath) if r.kind == "folder" else local
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    with open(target, "wb") as f:
                        f.write(r.content)
                    stamp = r.mtime_ms / 1000.0
                    os.utime(target, (stamp, stamp))
            if not manifest:
                return
            cmd = [resolve_binary(binary), "--threads", str(threads), "--no-progress",
                   "scan", "--manifest", "-", "--format", "ndjson"]
            if timeout:
                cmd += ["--bundle-timeout", timeout]
            proc = subprocess.run(cmd, input="\n".join(manifest) + "\n",
                                  capture_output=True, text=True)
            # 3: some bundle partial or failed, said in its row.
            if proc.returncode not in (0, 3):
                raise RuntimeError(f"padtriage scan exited {proc.returncode}: {proc.stderr}")
            for line in proc.stdout.splitlines():
                if line.strip():
                    yield parse_row(line, local_to_uri)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    return work


def parse_row(line, local_to_uri):
    """One NDJSON row of padtriage scan as a dict of RESULT_SCHEMA's fields (save the job's)."""
    row = json.loads(line)
    # The analysis document verbatim: it is the row's last field.
    _, _, rest = line.partition(',"analysis":')
    analysis = rest.rstrip()[:-1] if rest else None
    b = row["bundle"]
    return {
        "path": local_to_uri.get(b["path"], b["path"]),
        "bundle_kind": b["kind"],
        "size": b["size"],
        "files": b["files"],
        "mtime": b["mtime"],
        "content_hash": b["content_hash"],
        "row_schema_version": row["schema_version"],
        "status": row["status"],
        "why": row["why"],
        "analysed_at": row["analysed_at"],
        "duration_ms": row["duration_ms"],
        "needs_person": row["needs_person"],
        "attention": row["attention"],
        "problems": [(p["path"], p["kind"], p["why"]) for p in row["problems"]],
        "runs": [(r["time"], r["error_code"], r["credential_error"], r["user"], r["machine"],
                  r["primary_cause"], r["primary_verdict"], r["verdicts"]) for r in row["runs"]],
        "analysis_json": None if analysis in (None, "null") else analysis,
    }


def previous(spark, results, engine):
    """Stored results that stand for this padtriage and these rules."""
    try:
        prev = spark.read.parquet(results)
    except AnalysisException:
        return None
    return prev.where(
        (F.col("padtriage_version") == engine["padtriage_version"])
        & (F.col("rules_digest") == engine["rules_digest"])
        & F.col("status").isin("ok", "partial", "skipped_unchanged"))


def cmd_run(spark, args):
    sc = spark.sparkContext
    if __name__ != "__main__":
        # Imported, not submitted: the executors unpickle this module's functions by name.
        sc.addPyFile(os.path.abspath(__file__))
    if args.ship:
        sc.addFile(args.ship)
    binary = args.padtriage if not args.ship else os.path.basename(args.ship)
    # Ask an executor: the binary the work runs with decides the version.
    engine = sc.parallelize([0], 1).map(lambda _: engine_info(binary)).collect()[0]
    started = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    scan_date = dt.date.fromisoformat(args.scan_date) if args.scan_date else started.date()

    files = bundles_of_listing(spark, args.listing) if args.listing else \
        bundles_of_inboxes(spark, args.inbox)
    report = {"listed": 0, "unchanged_by_metadata": 0, "unchanged_by_hash": 0,
              "analysed": 0, "ok": 0, "partial": 0, "failed": 0, "results": args.results}
    if files is None:
        print(json.dumps(report))
        return
    files = files.persist()
    bundles = files.groupBy("bundle", "kind").agg(
        F.sum("length").alias("source_size"),
        F.max("modificationTime").alias("source_mtime"),
        F.count(F.lit(1)).alias("nfiles"))
    report["listed"] = bundles.count()
    prev = previous(spark, args.results, engine)

    # 1. Same listing metadata as a stored result: unchanged, nothing read.
    candidates = bundles
    if prev is not None:
        meta = prev.select(F.col("path").alias("bundle"), "source_size", "source_mtime")
        candidates = bundles.join(meta, ["bundle", "source_size", "source_mtime"], "left_anti")
    candidates = candidates.persist()
    report["unchanged_by_metadata"] = report["listed"] - candidates.count()
    names = [r.bundle for r in candidates.select("bundle").collect()]
    if not names:
        print(json.dumps(report))
        return

    # 2. Hash what changed, in Spark (XXH64 seed 42 = padtriage's content hash).
    content = (spark.read.format("binaryFile").option("recursiveFileLookup", "true")
               .load([glob_escape(n) for n in names]))
    content = content.join(files.select("path", "bundle", "kind", "relpath"), "path")
    hashed = content.select("bundle", "kind", "relpath", "length",
                            hex16(F.col("content")).alias("h"))
    line = F.concat_ws("\t", "relpath", F.col("length").cast("string"), "h")
    sums = hashed.groupBy("bundle", "kind").agg(
        F.sum("length").alias("size"),
        F.first("h").alias("one"),
        F.array_join(F.array_sort(F.collect_list(F.concat(line, F.lit("\n")))), "")
        .alias("listing"))
    sums = sums.select(
        "bundle", "size",
        F.concat(F.lit("xxh64:"), F.when(F.col("kind") == "folder", hex16(F.col("listing")))
                 .otherwise(F.col("one"))).alias("content_hash"))
    sums = sums.join(candidates, "bundle").persist()
    todo = sums
    if prev is not None:
        stored = prev.select(F.col("path").alias("bundle"), "size", "content_hash")
        todo = sums.join(stored, ["bundle", "size", "content_hash"], "left_anti")
        same = sums.join(todo.select("bundle"), "bundle", "left_anti")
        # Unchanged bytes under new dates: remember the new metadata, read nothing next time.
        touched = same.select(
            F.lit(started).cast("timestamp").alias("scanned_at"),
            F.col("bundle").alias("path"), F.col("kind").alias("bundle_kind"),
            F.col("size"), F.col("nfiles").alias("files"), F.lit(None).cast("string").alias("mtime"),
            "content_hash", "source_size", "source_mtime",
            F.lit(engine["padtriage_version"]).alias("padtriage_version"),
            F.lit(engine["rules_digest"]).alias("rules_digest"),
            F.lit(engine["row_schema_version"]).alias("row_schema_version"),
            F.lit("skipped_unchanged").alias("status"))
        for f in RESULT_SCHEMA.fields[len(touched.columns):]:
            touched = touched.withColumn(f.name, F.lit(None).cast(f.dataType))
        touched = touched.withColumn("scan_date", F.lit(scan_date).cast("date"))
        report["unchanged_by_hash"] = touched.count()
        if report["unchanged_by_hash"]:
            touched.select(*[f.name for f in RESULT_SCHEMA.fields]).write.mode("append") \
                .partitionBy("scan_date").parquet(args.results)
    todo = todo.persist()
    n_todo = todo.count()
    if n_todo == 0:
        print(json.dumps(report))
        return

    # 3. Ship each bundle's files to one partition: local paths as they are, object-store
    # files with their bytes.
    local = F.col("bundle").startswith("file:") & F.lit(not args.copy)
    ship_local = (files.join(todo.select("bundle"), "bundle").where(local)
                  .select("bundle", "kind", "relpath",
                          F.lit(0).cast("long").alias("mtime_ms"),
                          F.lit(None).cast("binary").alias("content")))
    ship_remote = (content.join(todo.select("bundle"), "bundle").where(~local)
                   .select("bundle", "kind", "relpath",
                           (F.unix_millis(F.col("modificationTime"))).alias("mtime_ms"),
                           "content"))
    parts = args.partitions or max(1, min(n_todo, sc.defaultParallelism))
    shipped = (ship_local.unionByName(ship_remote)
               .repartition(parts, "bundle").sortWithinPartitions("bundle", "relpath"))
    rows = shipped.rdd.mapPartitions(run_partition(binary, args.threads, args.bundle_timeout))
    produced = spark.createDataFrame(rows.map(lambda d: tuple(d[k] for k in ROW_FIELDS)),
                                     T.StructType([RESULT_SCHEMA[k] for k in ROW_FIELDS]))
    listing_meta = todo.select(F.col("bundle").alias("path"), "source_size", "source_mtime")
    out = (produced.join(listing_meta, "path", "left")
           .withColumn("scanned_at", F.lit(started).cast("timestamp"))
           .withColumn("padtriage_version", F.lit(engine["padtriage_version"]))
           .withColumn("rules_digest", F.lit(engine["rules_digest"]))
           .withColumn("scan_date", F.lit(scan_date).cast("date"))
           .select(*[f.name for f in RESULT_SCHEMA.fields]))
    out = spark.createDataFrame(out.rdd, RESULT_SCHEMA).persist()
    counts = {r.status: r["count"] for r in out.groupBy("status").count().collect()}
    out.write.mode("append").partitionBy("scan_date").parquet(args.results)
    report["analysed"] = sum(counts.values())
    for s in ("ok", "partial", "failed"):
        report[s] = counts.get(s, 0)
    print(json.dumps(report))


# What a partition yields, in this order.
ROW_FIELDS = ["path", "bundle_kind", "size", "files", "mtime", "content_hash",
              "row_schema_version", "status", "why", "analysed_at", "duration_ms",
              "needs_person", "attention", "problems", "runs", "analysis_json"]


def cmd_show(spark, args):
    """The latest analysed row of every bundle, as JSON lines sorted by path."""
    rows = spark.read.parquet(args.results).where(F.col("status") != "skipped_unchanged")
    if args.since:
        rows = rows.where(F.col("scan_date") >= F.lit(args.since).cast("date"))
    latest = Window.partitionBy("path").orderBy(F.col("scanned_at").desc())
    rows = (rows.withColumn("n", F.row_number().over(latest)).where("n = 1").drop("n")
            .orderBy("path"))
    if not args.with_analysis:
        rows = rows.drop("analysis_json")
    for line in rows.toJSON().toLocalIterator():
        print(line)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--master", help="Spark master, e.g. local[2] (default: as spark-submit sets)")
    p.add_argument("--conf", action="append", metavar="KEY=VALUE", help="a Spark setting")
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="scan the bundles not yet in the results table")
    src = r.add_mutually_exclusive_group(required=True)
    src.add_argument("--inbox", action="append",
                     help="a folder URI whose sub-folders and .zip files are the bundles (repeatable)")
    src.add_argument("--listing", help="a text file URI: one bundle URI per line")
    r.add_argument("--results", required=True, help="the results table (Parquet) URI")
    r.add_argument("--padtriage", default="padtriage",
                   help="the binary: shipped file name, path, or name on PATH")
    r.add_argument("--ship", help="a local padtriage binary to ship to the executors")
    r.add_argument("--partitions", type=int, help="partitions of bundles (default: parallelism)")
    r.add_argument("--threads", type=int, default=1,
                   help="bundles at once per partition (padtriage --threads)")
    r.add_argument("--bundle-timeout", help="padtriage's per-bundle time limit, e.g. 10m")
    r.add_argument("--scan-date", help="the scan_date partition (default: today, UTC)")
    r.add_argument("--copy", action="store_true",
                   help="copy file: bundles to the executors too, as object-store ones (for "
                        "executors that do not see the driver's files)")
    s = sub.add_parser("show", help="print the latest result of every bundle as JSON lines")
    s.add_argument("--results", required=True)
    s.add_argument("--since", help="only scan dates from this day (YYYY-MM-DD)")
    s.add_argument("--with-analysis", action="store_true", help="include analysis_json")
    args = p.parse_args(argv)

    # UTC: scan times and dates are UTC, as padtriage's.
    builder = (SparkSession.builder.appName("padtriage-" + args.cmd)
               .config("spark.sql.session.timeZone", "UTC"))
    if args.master:
        builder = builder.master(args.master)
        if args.master.startswith("local"):
            # One machine: a few shuffle partitions, not 200, and no web UI or console bars.
            builder = (builder.config("spark.sql.shuffle.partitions", "4")
                       .config("spark.ui.enabled", "false")
                       .config("spark.ui.showConsoleProgress", "false"))
    for kv in args.conf or []:
        key, _, value = kv.partition("=")
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    try:
        if args.cmd == "run":
            cmd_run(spark, args)
        else:
            cmd_show(spark, args)
    finally:
        spark.stop()


if __name__ == "__main__":
    sys.exit(main())
