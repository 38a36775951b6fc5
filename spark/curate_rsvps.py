"""Curate the raw RSVP stream into Parquet tables for the daily map.

Submitted with spark-submit on EMR (the release in template.yaml ships Spark 3.5); runs the
same on a local pyspark for tests. Reads the newline-delimited normalized RSVP records that
Firehose landed under <input>/dt=YYYY-MM-DD/ (by arrival day), keeps the records whose mtime
falls in the date range (UTC), de-duplicates by (rsvpId, mtime) keeping the first to arrive
at the ingest (its arrival stamp), keeps the latest state of
each RSVP, and writes the tables rsvp, event, group, venue and errors under <output>/<table>/,
partitioned by date. Partitions are overwritten, never appended to: a rerun gives the same
tables.

    spark-submit curate_rsvps.py --input s3://raw/rsvps --output s3://curated [--start D --end D | --all]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

# The normalized record the ingest writes (functions/shared/rsvp/record.ts), version 1.
RECORD_SCHEMA = """
  v INT, rsvpId BIGINT, mtime BIGINT, response STRING, guests INT, arrival BIGINT,
  visibility STRING,
  city STRUCT<key: STRING, country: STRING, state: STRING, name: STRING>,
  event STRUCT<id: STRING, name: STRING, time: BIGINT, url: STRING>,
  `group` STRUCT<id: BIGINT, name: STRING, urlname: STRING,
               position: STRUCT<lat: DOUBLE, lon: DOUBLE>,
               topics: ARRAY<STRUCT<key: STRING, name: STRING>>>,
  venue STRUCT<id: BIGINT, name: STRING, position: STRUCT<lat: DOUBLE, lon: DOUBLE>>
"""
MAX_ERROR_TEXT = 4096
# The ingest keeps nothing of the member; records it wrote before it dropped the member whole
# carry a pseudonym of the member id. Their raw lines expire (RawDataRetentionDays) but the
# curated tables live on, so none of them keeps it, not even in an error's text.
MEMBER_FIELD = r'"member"\s*:\s*"[^"]*"'
TABLES = ("rsvp", "event", "group", "venue", "errors")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", required=True, help="folder holding dt=YYYY-MM-DD/ folders of NDJSON")
    parser.add_argument("--output", required=True, help="folder of the curated tables")
    parser.add_argument("--start", type=dt.date.fromisoformat, help="first day (UTC), default yesterday")
    parser.add_argument("--end", type=dt.date.fromisoformat, help="last day (UTC), default --start")
    parser.add_argument("--all", action="store_true", help="the whole history")
    parser.add_argument(
        "--range",
        help="one argument for the workflow: yesterday, all, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD",
    )
    parser.add_argument(
        "--as-of",
        type=parse_instant,
        help="ISO-8601 instant that 'yesterday' is relative to (the workflow passes its start time), default now",
    )
    args = parser.parse_args(argv)
    if args.range is not None:
        if args.all or args.start or args.end:
            parser.error("--range goes without --all/--start/--end")
        try:
            args.all, args.start, args.end = parse_range(args.range)
        except ValueError:
            parser.error(f"--range: not yesterday, all, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD: {args.range!r}")
    if args.all and (args.start or args.end):
        parser.error("--all goes without --start/--end")
    if not args.all:
        as_of = args.as_of or dt.datetime.now(dt.timezone.utc)
        args.start = args.start or (as_of.astimezone(dt.timezone.utc).date() - dt.timedelta(days=1))
        args.end = args.end or args.start
        if args.end < args.start:
            parser.error("--end is before --start")
    return args


def parse_instant(text: str) -> dt.datetime:
    """An ISO-8601 instant; one without an offset is UTC (Step Functions gives ...Z)."""
    instant = dt.datetime.fromisoformat(text)
    return instant if instant.tzinfo else instant.replace(tzinfo=dt.timezone.utc)


def parse_range(text: str) -> tuple[bool, dt.date | None, dt.date | None]:
    """(all, start, end) of a --range value; start None means the default (yesterday)."""
    if text == "all":
        return True, None, None
    if text == "yesterday":
        return False, None, None
    first, _, last = text.partition("..")
    start = dt.date.fromisoformat(first)
    return False, start, dt.date.fromisoformat(last) if last else start


def session(app: str = "rsvp-atlas-curate") -> SparkSession:
    return (
        SparkSession.builder.appName(app)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
        # Partition values stay strings ("2018-05-20"), as written, whatever they look like.
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .getOrCreate()
    )


# Days after its mtime's day that a record may land: Firehose files a record by its arrival, so
# one of 23:59 lands the next day, and one the ingest sends late (resumed with since_mtime after
# an outage across midnight) a day or two later. A run reads that many landing days past its
# range: the scheduled run of a day finds the next day's folder begun, and a day run again later
# (its range given by hand) finds what landed late.
LANDING_LAG_DAYS = 2


def read_raw(spark: SparkSession, root: str, start: dt.date | None, end: dt.date | None) -> DataFrame:
    """Lines with their arrival day, of the range's landing days and LANDING_LAG_DAYS after it.

    A range reads the day folders it needs by name. Reading the root and filtering on `dt` would
    prune the files Spark opens but not the ones it lists: Spark lists every file under the root
    first, and with a year of raw data (RawDataRetentionDays) that is some 100,000 Firehose files
    (one per 300-second buffer) for a run that reads three days of them.
    """
    if start is None or end is None:
        paths = [root]
    else:
        last = end + dt.timedelta(days=LANDING_LAG_DAYS)
        paths = day_folders(spark, root, "dt", start, last)
        if not paths:
            return spark.createDataFrame([], "value string, dt string")
    return spark.read.option("basePath", root).text(paths).withColumn("dt", F.col("dt").cast("string"))


def day_folders(spark: SparkSession, root: str, column: str, first: dt.date, last: dt.date) -> list[str]:
    """The root's `<column>=YYYY-MM-DD` folders from first to last: one listing of the root (on
    S3, one prefix listing), however many days it holds. None where the root holds nothing: on
    S3 a prefix without objects does not exist (a table no run has written a row of)."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(root)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    if not fs.exists(path):
        return []
    names = [status.getPath().getName() for status in fs.listStatus(path) if status.isDirectory()]
    prefix = f"{column}="
    return [
        f"{root.rstrip('/')}/{name}"
        for name in sorted(names)
        if name.startswith(prefix) and first.isoformat() <= name.removeprefix(prefix) <= last.isoformat()
    ]


def usable_position(position: Column) -> Column:
    """The position, or null where the ingest would have nulled it (functions/shared/rsvp/parse.ts,
    toPosition): (0, 0), the feed's "unknown place", and points off the globe (NaN included). The
    ingest writes no other, but the raw bucket is read as it is: a record landed some other way
    must not put a venue at latitude 999 on the map. The RSVP still counts; only the map skips it."""
    lat, lon = position.getField("lat"), position.getField("lon")
    # Spark orders NaN above every number (SQL reference, "NaN Semantics"): the bounds refuse it.
    on_globe = (F.abs(lat) <= 90) & (F.abs(lon) <= 180) & ~((lat == 0) & (lon == 0))
    return F.when(on_globe, position)


def split_records(raw: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(usable records, errors with a reason): nothing is dropped without a trace."""
    parsed = raw.withColumn("r", F.from_json("value", RECORD_SCHEMA, {"mode": "PERMISSIVE"}))
    reason = (
        F.when(F.trim("value") == "", "empty_line")
        .when(F.col("r").isNull() | F.col("r.v").isNull(), "not_a_record")
        .when(F.col("r.v") != 1, "unknown_record_version")
        .when(F.col("r.rsvpId").isNull() | F.col("r.mtime").isNull(), "missing_id")
        .when(F.col("r.city.key").isNull(), "missing_city")
        # isin of a null is null, which `when` takes as false: a record without an answer would
        # pass as usable, counted in rsvp_count and in no answer.
        .when(F.col("r.response").isNull() | ~F.col("r.response").isin("yes", "no"), "invalid_response")
    )
    checked = parsed.withColumn("reason", reason)
    errors = checked.where(F.col("reason").isNotNull()).select(
        F.col("reason"),
        F.substring(F.regexp_replace("value", MEMBER_FIELD, '"member":null'), 1, MAX_ERROR_TEXT).alias("text"),
        F.col("dt").alias("date"),
    )
    records = (
        checked.where(F.col("reason").isNull()).select("r.*", F.col("value").alias("line"))
        .withColumn("date", F.to_date(F.from_unixtime(F.col("mtime") / 1000)).cast("string"))
        .withColumn("venue", F.col("venue").withField("position", usable_position(F.col("venue.position"))))
        .withColumn("group", F.col("group").withField("position", usable_position(F.col("group.position"))))
    )
    return records, errors


def curate(spark: SparkSession, args: argparse.Namespace) -> dict[str, int]:
    start = None if args.all else args.start
    end = None if args.all else args.end
    records, errors = split_records(read_raw(spark, args.input, start, end))
    if start is not None and end is not None:
        records = records.where(F.col("date").between(start.isoformat(), end.isoformat()))

    # The counting rule's (functions/city-counts/rsvp-state.ts): the greatest mtime, and among
    # equal mtimes the first to arrive at the ingest (its `arrival` stamp; none ranks last).
    # Firehose keeps no order, so the stamp, not the landing, says which came first.
    # Lines without a stamp (landed before stamps existed) tie on it: the line itself decides,
    # so a rerun keeps the same version.
    first_arrived = Window.partitionBy("rsvpId", "mtime").orderBy(F.col("arrival").asc_nulls_last(), "line")
    messages = records.withColumn("n", F.row_number().over(first_arrived)).where("n = 1").drop("n", "line")
    newest_first = Window.partitionBy("rsvpId").orderBy(F.col("mtime").desc())
    latest = messages.withColumn("n", F.row_number().over(newest_first)).where("n = 1").drop("n")
    latest = latest.withColumn("date", F.to_date(F.from_unixtime(F.col("mtime") / 1000)).cast("string")).cache()

    rsvp = latest.select(
        F.col("rsvpId").alias("rsvp_id"), "mtime", "response", "guests",
        F.col("event.id").alias("event_id"), F.col("group.id").alias("group_id"),
        F.col("venue.id").alias("venue_id"), F.col("city.key").alias("city_key"), "date",
    )
    # Ties on mtime go to the RSVP id, as the venue's below, so a rerun picks the same row.
    by_day_newest = lambda key: Window.partitionBy("date", key).orderBy(  # noqa: E731
        F.col("mtime").desc(), F.col("rsvpId").desc()
    )
    event = (
        latest.select("date", "mtime", "rsvpId", F.col("event.*"), F.col("group.id").alias("group_id"))
        .withColumn("n", F.row_number().over(by_day_newest("id"))).where("n = 1")
        .select(F.col("id").alias("event_id"), "name", F.col("time").alias("start_time"), "url", "group_id", "date")
    )
    # A group's row of the day takes its newest message's fields and, as a venue's below, its
    # newest usable position: a later message without one must not unplace the group.
    groups = latest.select("date", "mtime", "rsvpId", F.col("group.*"), F.col("city"))
    group_rows = (
        groups.withColumn("n", F.row_number().over(by_day_newest("id"))).where("n = 1")
        .select(
            F.col("id").alias("group_id"), "name", "urlname",
            F.col("city.key").alias("city_key"), F.col("city.country").alias("country"),
            F.col("city.state").alias("state"), F.col("city.name").alias("city"), "topics", "date",
        )
    )
    group_positions = (
        groups.where(F.col("position").isNotNull())
        .withColumn("n", F.row_number().over(by_day_newest("id"))).where("n = 1")
        .select("date", F.col("id").alias("group_id"),
                F.col("position.lat").alias("lat"), F.col("position.lon").alias("lon"))
    )
    group = group_rows.join(group_positions, ["date", "group_id"], "left").select(
        "group_id", "name", "urlname", "city_key", "country", "state", "city", "lat", "lon", "topics", "date",
    )
    with_venue = latest.where(F.col("venue").isNotNull())
    # A venue's row of the day takes its newest message's name, and its newest usable position:
    # a later message without one (the ingest nulls (0, 0) and out-of-range points) must not
    # unmap the venue (clustering's mergeVenueDays keeps the newest non-null one across days).
    # Ties on mtime go to the RSVP id, so a rerun picks the same.
    newest_venue_first = lambda: Window.partitionBy("date", "venue.id").orderBy(  # noqa: E731
        F.col("mtime").desc(), F.col("rsvpId").desc()
    )
    venue_names = (
        with_venue.withColumn("n", F.row_number().over(newest_venue_first())).where("n = 1")
        .select("date", F.col("venue.id").alias("venue_id"), F.col("venue.name").alias("name"))
    )
    venue_positions = (
        with_venue.where(F.col("venue.position").isNotNull())
        .withColumn("n", F.row_number().over(newest_venue_first())).where("n = 1")
        .select("date", F.col("venue.id").alias("venue_id"),
                F.col("venue.position.lat").alias("lat"), F.col("venue.position.lon").alias("lon"))
    )
    venue_stats = with_venue.groupBy("date", F.col("venue.id").alias("venue_id")).agg(
        F.min("mtime").alias("first_seen"),
        F.max("mtime").alias("last_seen"),
        F.count(F.lit(1)).alias("rsvp_count"),
        F.sum(F.when(F.col("response") == "yes", 1).otherwise(0)).alias("yes_count"),
        # Sorted: collect_list keeps the shuffle's order, which a rerun need not repeat.
        F.array_sort(F.array_distinct(F.flatten(F.collect_list(F.coalesce("group.topics", F.array()))))).alias("topics"),
        F.array_sort(F.collect_set("group.id")).alias("group_ids"),
    )
    # What the venue's RSVPs meet about: each RSVP's weight of 1 split evenly over its group's
    # topics, summed per topic. The topic list alone would give every topic the venue's every
    # RSVP: a venue where a 50-RSVP tech group and a 1-RSVP hiking group meet would read as much
    # hiking as tech, and a group with many topics would outweigh one with few.
    per_topic = (
        with_venue.where(F.size(F.coalesce("group.topics", F.array())) > 0)
        .select("date", F.col("venue.id").alias("venue_id"),
                (F.lit(1.0) / F.size("group.topics")).alias("share"),
                F.explode("group.topics").alias("topic"))
        .groupBy("date", "venue_id", F.col("topic.key").alias("key"))
        # Rounded: a sum of fractions depends in its last bit on the order the shuffle adds them,
        # and the labels' ties would follow it from one rerun to the next.
        .agg(F.max("topic.name").alias("name"), F.round(F.sum("share"), 9).alias("weight"))
    )
    venue_topic_weights = per_topic.groupBy("date", "venue_id").agg(
        F.sort_array(F.collect_list(F.struct("key", "name", "weight"))).alias("topic_weights")
    )
    venue = (
        venue_names.join(venue_stats, ["date", "venue_id"])
        .join(venue_positions, ["date", "venue_id"], "left")
        .join(venue_topic_weights, ["date", "venue_id"], "left")
        .select("venue_id", "name", "lat", "lon", "first_seen", "last_seen", "rsvp_count", "yes_count",
                "topics", "group_ids", "topic_weights", "date")
    )

    tables = {"rsvp": rsvp, "event": event, "group": group, "venue": venue, "errors": errors}
    for name, table in tables.items():
        # One file per day and table: a day of the feed is megabytes, not worth 200 small files.
        table.repartition("date").write.mode("overwrite").partitionBy("date").parquet(f"{args.output.rstrip('/')}/{name}")
    # This run's rows: the days it wrote (errors are filed by landing day, which runs further).
    counts = {}
    for name in TABLES:
        last = end
        if end is not None and name == "errors":
            last = end + dt.timedelta(days=LANDING_LAG_DAYS)
        counts[name] = count_rows(spark, f"{args.output.rstrip('/')}/{name}", start, last)
    counts["messages"] = messages.count()
    latest.unpersist()
    return counts


def count_rows(spark: SparkSession, path: str, first: dt.date | None, last: dt.date | None) -> int:
    """Rows of a written table from first to last (the whole table without them): not the table's
    whole history after each day's run, which the curated bucket keeps. An empty table has no
    Parquet file to infer a schema from."""
    paths = day_folders(spark, path, "date", first or dt.date.min, last or dt.date.max)
    if not paths:
        return 0
    try:
        return spark.read.option("basePath", path).parquet(*paths).count()
    except Exception as error:  # noqa: BLE001 - Spark raises AnalysisException subclasses
        if "Unable to infer schema" in str(error):
            return 0
        raise


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    spark = session()
    try:
        counts = curate(spark, args)
    finally:
        spark.stop()
    # One JSON line on stdout: the local batch runner and EMR step logs both show it.
    print(json.dumps({"range": "all" if args.all else f"{args.start}..{args.end}", **counts}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
