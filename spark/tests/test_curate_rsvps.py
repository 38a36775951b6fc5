"""The curation job on real (local) Spark, over NDJSON laid out as Firehose lands it."""

import datetime as dt
import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import curate_rsvps  # noqa: E402

DAY = dt.datetime(2018, 5, 20, tzinfo=dt.timezone.utc)


def record(rsvp_id, minutes, response="yes", venue_id=None, city=("us/or/portland", "us", "OR", "Portland"), guests=0):
    mtime = int((DAY + dt.timedelta(minutes=minutes)).timestamp() * 1000)
    key, country, state, name = city
    return {
        "v": 1, "rsvpId": rsvp_id, "mtime": mtime, "response": response, "guests": guests,
        "visibility": "public", "member": "ab" * 16,
        "city": {"key": key, "country": country, "state": state, "name": name},
        "event": {"id": f"e{rsvp_id % 3}", "name": "Python Night", "time": mtime + 86_400_000, "url": None},
        "group": {"id": 7, "name": "Portland Python", "urlname": "pdx-py", "position": {"lat": 45.52, "lon": -122.68},
                  "topics": [{"key": "python", "name": "Python"}]},
        "venue": None if venue_id is None else {"id": venue_id, "name": f"Venue {venue_id}", "position": {"lat": 45.5, "lon": -122.6}},
    }


def land(root: Path, day: str, lines: list[str]) -> None:
    folder = root / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"part-{len(list(folder.iterdir()))}.ndjson").write_text("\n".join(lines) + "\n")


@pytest.fixture()
def landed(tmp_path):
    raw = tmp_path / "raw"
    good = [
        record(1, 10, venue_id=100),
        record(1, 50, response="no", venue_id=100),          # an update: the latest state wins
        record(2, 20, venue_id=100, guests=2),
        record(3, 30, venue_id=200, city=("us/me/portland", "us", "ME", "Portland")),
        record(4, 40),                                      # no venue
    ]
    lines = [json.dumps(r) for r in good]
    lines += [json.dumps(good[2]), "{not json", '{"v": 1, "mtime": 5}', json.dumps({**good[0], "response": "maybe", "rsvpId": 9})]
    lines += [json.dumps({**good[0], "response": None, "rsvpId": 10})]  # no answer at all
    land(raw, "2018-05-20", lines)
    # A record of the 20th that arrived on the 21st, and one of the 21st (outside the range).
    land(raw, "2018-05-21", [json.dumps(record(5, 60 * 23 + 50, venue_id=100)), json.dumps(record(6, 60 * 24 + 30, venue_id=100))])
    return raw, tmp_path / "curated"


def run(spark, raw, out, *extra):
    args = curate_rsvps.parse_args(["--input", str(raw), "--output", str(out), *extra])
    return curate_rsvps.curate(spark, args)


def table(spark, out, name):
    return spark.read.parquet(str(out / name))


def test_curates_one_day(spark, landed):
    raw, out = landed
    counts = run(spark, raw, out, "--start", "2018-05-20")
    assert counts["messages"] == 6  # five distinct messages of the 20th plus the late arrival; the repeat is gone
    rsvps = {r.rsvp_id: r for r in table(spark, out, "rsvp").collect()}
    assert sorted(rsvps) == [1, 2, 3, 4, 5]
    assert rsvps[1].response == "no"  # the latest state
    assert {r.date for r in rsvps.values()} == {"2018-05-20"}

    venues = {v.venue_id: v for v in table(spark, out, "venue").collect()}
    assert venues[100].rsvp_count == 3 and venues[100].yes_count == 2
    assert venues[100].topics[0].key == "python" and list(venues[100].group_ids) == [7]
    assert venues[200].rsvp_count == 1
    assert (venues[100].lat, venues[100].lon) == (45.5, -122.6)

    # A group's row of the day is its newest message's: RSVP 5 at 23:50, in Portland, OR (RSVP 3
    # at 00:30 named Portland, ME).
    groups = table(spark, out, "group").collect()
    assert [(g.group_id, g.city_key) for g in groups] == [(7, "us/or/portland")]
    # An event's row likewise: e1's newest message is RSVP 1's update at 00:50, e2's RSVP 5's.
    events = {e.event_id: e for e in table(spark, out, "event").collect()}
    assert sorted(events) == ["e0", "e1", "e2"]
    mtime = lambda minutes: int((DAY + dt.timedelta(minutes=minutes)).timestamp() * 1000)  # noqa: E731
    assert events["e1"].start_time == mtime(50) + 86_400_000
    assert events["e2"].start_time == mtime(60 * 23 + 50) + 86_400_000
    assert {e.group_id for e in events.values()} == {7}

    reasons = sorted(e.reason for e in table(spark, out, "errors").collect())
    assert reasons == ["invalid_response", "invalid_response", "missing_id", "not_a_record"]
    # A member pseudonym (in records landed before the ingest dropped the member whole) stays in
    # the raw stream, which expires; the curated tables do not keep it.
    assert "member" not in table(spark, out, "rsvp").columns
    texts = [e.text for e in table(spark, out, "errors").collect()]
    assert not any("ab" * 16 in text for text in texts)
    assert any('"member":null' in text for text in texts)


def test_a_record_landed_two_days_late_is_curated_when_its_day_runs_again(spark, tmp_path):
    # An RSVP of the 20th that the ingest sent on the 22nd (resumed after an outage), and one of
    # the 20th landed three days late, past what a run reads.
    raw = tmp_path / "raw"
    land(raw, "2018-05-20", [json.dumps(record(1, 10))])
    land(raw, "2018-05-22", [json.dumps(record(2, 20)), json.dumps(record(3, 60 * 48))])
    land(raw, "2018-05-23", [json.dumps(record(4, 30))])
    out = tmp_path / "curated"
    counts = run(spark, raw, out, "--range", "2018-05-20")
    assert sorted(r.rsvp_id for r in table(spark, out, "rsvp").collect()) == [1, 2]
    assert counts["rsvp"] == 2
    assert curate_rsvps.LANDING_LAG_DAYS == 2


def test_a_range_lists_only_its_landing_days(spark, tmp_path):
    """Spark lists every file of what it is given before pruning: a range gives it its days only."""
    raw = tmp_path / "raw"
    for day in ("2018-05-10", "2018-05-19", "2018-05-20", "2018-05-21", "2018-05-22", "2018-05-23"):
        land(raw, day, [json.dumps(record(int(day[-2:]), 10))])
    files = curate_rsvps.read_raw(spark, str(raw), dt.date(2018, 5, 20), dt.date(2018, 5, 20)).inputFiles()
    assert sorted(Path(f.removeprefix("file:")).parent.name for f in files) == [
        "dt=2018-05-20", "dt=2018-05-21", "dt=2018-05-22",
    ]
    everything = curate_rsvps.read_raw(spark, str(raw), None, None)
    assert len(everything.inputFiles()) == 6
    # A table folder no run has written a row of (on S3, no such prefix) counts none.
    assert curate_rsvps.count_rows(spark, str(tmp_path / "no-table"), dt.date(2018, 5, 20), dt.date(2018, 5, 20)) == 0


def test_a_range_nothing_landed_for_writes_no_rows(spark, landed):
    raw, out = landed
    counts = run(spark, raw, out, "--range", "2019-01-01..2019-01-02")
    assert counts == {"rsvp": 0, "event": 0, "group": 0, "venue": 0, "errors": 0, "messages": 0}


def test_among_equal_mtimes_the_first_to_arrive_at_the_ingest_wins(spark, tmp_path):
    raw = tmp_path / "raw"
    first = {**record(1, 10, response="yes"), "arrival": 2_000}
    second = {**record(1, 10, response="no", city=("us/wa/seattle", "us", "WA", "Seattle")), "arrival": 3_000}
    unstamped = record(1, 10, response="no")
    # Landed in another order than they arrived: Firehose keeps none.
    land(raw, "2018-05-20", [json.dumps(second), json.dumps(unstamped), json.dumps(first)])
    out = tmp_path / "curated"
    counts = run(spark, raw, out, "--start", "2018-05-20")
    assert counts["messages"] == 1
    [rsvp] = table(spark, out, "rsvp").collect()
    assert rsvp.response == "yes"
    [group] = table(spark, out, "group").collect()
    assert group.city_key == "us/or/portland"


def test_a_venue_s_topics_are_weighted_by_the_rsvps_of_each_group(spark, tmp_path):
    # Venue 100 hosts a tech group (3 RSVPs, two topics) and a hiking group (1 RSVP, one topic);
    # venue 200 only a group without topics. Each RSVP weighs 1, split over its group's topics.
    tech = {"id": 7, "name": "Portland Python", "urlname": "pdx-py", "position": None,
            "topics": [{"key": "python", "name": "Python"}, {"key": "web", "name": "Web"}]}
    hiking = {"id": 8, "name": "Trail Friends", "urlname": "trails", "position": None,
              "topics": [{"key": "hiking", "name": "Hiking"}]}
    bare = {"id": 9, "name": "No Topics", "urlname": "bare", "position": None, "topics": None}
    lines = [json.dumps({**record(i, i, venue_id=100), "group": tech}) for i in (1, 2, 3)]
    lines.append(json.dumps({**record(4, 4, venue_id=100), "group": hiking}))
    lines.append(json.dumps({**record(5, 5, venue_id=200), "group": bare}))
    raw = tmp_path / "raw"
    land(raw, "2018-05-20", lines)
    out = tmp_path / "curated"
    run(spark, raw, out, "--start", "2018-05-20")
    venues = {v.venue_id: v for v in table(spark, out, "venue").collect()}
    weights = {t.key: (t.name, t.weight) for t in venues[100].topic_weights}
    assert weights == {"python": ("Python", 1.5), "web": ("Web", 1.5), "hiking": ("Hiking", 1.0)}
    assert venues[100].rsvp_count == 4
    assert venues[200].topic_weights is None and venues[200].rsvp_count == 1


def test_a_venue_keeps_its_newest_usable_position_of_the_day(spark, tmp_path):
    # The newest message of venue 100 has no position (the ingest nulls (0, 0)): the day's row
    # keeps the one before, and the newest name.
    earlier = record(1, 10, venue_id=100)
    later = {**record(2, 20, venue_id=100), "venue": {"id": 100, "name": "Renamed", "position": None}}
    raw = tmp_path / "raw"
    land(raw, "2018-05-20", [json.dumps(later), json.dumps(earlier)])
    out = tmp_path / "curated"
    run(spark, raw, out, "--start", "2018-05-20")
    [venue] = table(spark, out, "venue").collect()
    assert (venue.name, venue.lat, venue.lon, venue.rsvp_count) == ("Renamed", 45.5, -122.6, 2)


def test_a_position_off_the_globe_is_no_position(spark, tmp_path):
    # Landed other than by the ingest (which nulls such points): the RSVPs count, the map skips
    # the places. Venue 100's newest usable position is its earlier one; venue 200 has none.
    def placed(rsvp_id, minutes, venue_id, lat, lon):
        r = record(rsvp_id, minutes, venue_id=venue_id)
        return {**r, "venue": {**r["venue"], "position": {"lat": lat, "lon": lon}}}

    lines = [
        json.dumps(placed(1, 10, 100, 45.5, -122.6)),
        json.dumps(placed(2, 20, 100, 999.0, -122.6)),
        json.dumps(placed(3, 30, 200, 0.0, 0.0)),
        json.dumps(placed(4, 40, 200, 45.5, -181.0)),
        # JSON has no NaN, but Spark's reader takes it (allowNonNumericNumbers).
        json.dumps(placed(5, 50, 200, 45.5, -122.125)).replace("-122.125", "NaN"),
        json.dumps({**record(6, 60), "group": {**record(6, 60)["group"], "position": {"lat": -91.0, "lon": 0.5}}}),
        # Half a position is none, as the ingest has it.
        json.dumps(placed(7, 5, 300, 45.5, None)),
    ]
    raw = tmp_path / "raw"
    land(raw, "2018-05-20", lines)
    out = tmp_path / "curated"
    counts = run(spark, raw, out, "--start", "2018-05-20")
    venues = {v.venue_id: (v.lat, v.lon, v.rsvp_count) for v in table(spark, out, "venue").collect()}
    assert venues == {100: (45.5, -122.6, 2), 200: (None, None, 3), 300: (None, None, 1)}
    assert (counts["rsvp"], counts["errors"]) == (7, 0)
    [group] = table(spark, out, "group").collect()
    # The newest message's group position is off the globe: the group keeps the one before.
    assert (group.lat, group.lon) == (45.52, -122.68)


def test_a_group_keeps_its_newest_usable_position_of_the_day(spark, tmp_path):
    # As a venue does: its newest message's name, its newest usable position; a group with no
    # usable position at all keeps its row, unplaced.
    def grouped(rsvp_id, minutes, group_id, name, position):
        r = record(rsvp_id, minutes)
        return {**r, "group": {**r["group"], "id": group_id, "name": name, "position": position}}

    lines = [
        json.dumps(grouped(1, 10, 7, "Portland Python", {"lat": 45.52, "lon": -122.68})),
        json.dumps(grouped(2, 20, 7, "PDX Python", {"lat": 45.53, "lon": -122.67})),
        json.dumps(grouped(3, 30, 7, "PDX Pythonistas", None)),
        json.dumps(grouped(4, 40, 8, "Nowhere", None)),
    ]
    raw = tmp_path / "raw"
    land(raw, "2018-05-20", lines)
    out = tmp_path / "curated"
    run(spark, raw, out, "--start", "2018-05-20")
    groups = {g.group_id: (g.name, g.lat, g.lon, g.urlname) for g in table(spark, out, "group").collect()}
    assert groups == {7: ("PDX Pythonistas", 45.53, -122.67, "pdx-py"), 8: ("Nowhere", None, None, "pdx-py")}


def test_rerun_overwrites_instead_of_appending(spark, landed):
    raw, out = landed
    first = run(spark, raw, out, "--start", "2018-05-20")
    second = run(spark, raw, out, "--start", "2018-05-20")
    assert first == second
    assert table(spark, out, "rsvp").count() == 5


def test_a_run_counts_the_rows_of_its_days_not_the_tables_history(spark, landed):
    raw, out = landed
    run(spark, raw, out, "--range", "2018-05-20")
    land(raw, "2018-05-21", ["{not json"])
    counts = run(spark, raw, out, "--range", "2018-05-21")
    # RSVP 6 is the 21st's one; the 20th's five are in the table too, counted by their own run.
    assert counts["rsvp"] == 1 and table(spark, out, "rsvp").count() == 6
    # Errors go by landing day: the 21st's broken line, not the 20th's four.
    assert counts["errors"] == 1 and table(spark, out, "errors").count() == 5


def test_all_history_and_days_are_separate_partitions(spark, landed):
    raw, out = landed
    counts = run(spark, raw, out, "--all")
    assert counts["rsvp"] == 6
    dates = sorted({r.date for r in table(spark, out, "rsvp").collect()})
    assert dates == ["2018-05-20", "2018-05-21"]
    assert sorted(n for n in os.listdir(out / "rsvp") if n.startswith("date=")) == ["date=2018-05-20", "date=2018-05-21"]


def test_arguments():
    args = curate_rsvps.parse_args(["--input", "i", "--output", "o"])
    assert args.start == dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)
    with pytest.raises(SystemExit):
        curate_rsvps.parse_args(["--input", "i", "--output", "o", "--all", "--start", "2018-05-20"])
    with pytest.raises(SystemExit):
        curate_rsvps.parse_args(["--input", "i", "--output", "o", "--start", "2018-05-21", "--end", "2018-05-20"])


def test_range_argument_of_the_workflow():
    yesterday = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)
    parse = lambda value: curate_rsvps.parse_args(["--input", "i", "--output", "o", "--range", value])  # noqa: E731
    assert (parse("yesterday").start, parse("yesterday").end, parse("yesterday").all) == (yesterday, yesterday, False)
    assert parse("all").all is True
    assert (parse("2018-05-20").start, parse("2018-05-20").end) == (dt.date(2018, 5, 20), dt.date(2018, 5, 20))
    assert parse("2018-05-20..2018-05-22").end == dt.date(2018, 5, 22)
    for bad in ("tomorrow", "2018-02-30", "2018-05-20..x", "; rm -rf /"):
        with pytest.raises(SystemExit):
            parse(bad)


def test_yesterday_is_relative_to_the_workflow_start():
    """A run that starts at 23:59 and reaches Spark after midnight still curates the right day."""
    args = ["--input", "i", "--output", "o", "--range", "yesterday"]
    late = curate_rsvps.parse_args([*args, "--as-of", "2026-11-27T23:59:30.123Z"])
    assert (late.start, late.end) == (dt.date(2026, 11, 26), dt.date(2026, 11, 26))
    offset = curate_rsvps.parse_args([*args, "--as-of", "2026-11-27T01:00:00+02:00"])
    assert offset.start == dt.date(2026, 11, 25)
    with pytest.raises(SystemExit):
        curate_rsvps.parse_args([*args, "--as-of", "yesterday"])


REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO.parent / "shared" / "data" / "rsvps-sample.jsonl"


@pytest.mark.skipif(
    not SAMPLE.exists(),
    reason="../shared/data is absent, as in a fresh clone: the recorded sample cannot be curated here",
)
def test_curates_the_recorded_sample(spark, tmp_path):
    """The real feed, normalized by the ingest's parser, curated; expectations from the raw file itself."""
    import subprocess

    raw = tmp_path / "raw" / "dt=2026-11-27"
    raw.mkdir(parents=True)
    subprocess.run(
        ["node", "--import", "tsx", str(REPO / "spark" / "tests" / "normalize_feed.ts"),
         str(SAMPLE), str(raw / "part-0.ndjson")],
        check=True, cwd=REPO, capture_output=True,
    )
    out = tmp_path / "curated"
    counts = run(spark, tmp_path / "raw", out, "--all")

    messages = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line]
    day = lambda m: dt.datetime.fromtimestamp(m["mtime"] / 1000, dt.timezone.utc).date().isoformat()  # noqa: E731
    with_venue = [m for m in messages if m.get("venue") and m["venue"].get("venue_id") is not None]
    assert counts["rsvp"] == len({m["rsvp_id"] for m in messages}) == 1247
    assert counts["errors"] == 0
    assert counts["venue"] == len({(day(m), m["venue"]["venue_id"]) for m in with_venue})
    assert counts["group"] == len({(day(m), m["group"]["group_id"]) for m in messages})
    assert counts["event"] == len({(day(m), m["event"]["event_id"]) for m in messages})

    venue = table(spark, out, "venue")
    # Every venue's RSVPs add up to the messages that name it; topics come from its groups.
    assert venue.agg({"rsvp_count": "sum"}).first()[0] == len(with_venue)
    first = with_venue[0]
    row = venue.where(f"venue_id = {first['venue']['venue_id']} and date = '{day(first)}'").first()
    assert row is not None
    assert {t["key"] for t in row["topics"]} >= {t["urlkey"] for t in first["group"]["group_topics"]}
    # Names keep their accents and emoji: nothing was mangled on the way.
    names = {r["name"] for r in venue.select("name").collect()}
    assert "Uniandinos - Sede Nacional" in names
    dates = sorted(r["date"] for r in venue.select("date").distinct().collect())
    assert dates[0] == "2017-05-06" and dates[-1].startswith("2018-05")
