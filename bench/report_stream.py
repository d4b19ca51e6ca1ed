"""The weekly report at 100,000 leads, end to end through the real adapter over a recorded page stream.

moto's DynamoDB is far too slow at 100k leads (seconds per page), so the Query pages are recorded
instead: the items the writers store for 100k leads (bench.report.stored_items, six touches each),
keyed into the sharded by_day index as `store.items.by_day_keys` does, projected as the index
projects them, serialized as DynamoDB sends them (low-level JSON) and cut into pages per index
partition, in sort-key order. A fresh process then runs the report function's own code,
`leadflow.report.weekly.make_report` and the three renderings, with a botocore `before-send` hook
answering each Query (and BatchGetItem) with the recorded HTTP body: botocore parses it, the adapter
deserializes it, the report maps, aggregates and renders, all timed, peak RSS from the kernel. As in
Lambda, the child reads the layer's compiled configuration (infra.layers.build_compiled).
Not in the time: DynamoDB's own service time per page (the count of queries and pages is printed).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.results import record

LEADS = 100_000
QUICK_LEADS = 2_000
PAGE_BYTES = 1024 * 1024
TARGET_S = 20  # issue 28
TARGET_MB = 1024

CHILD = """
import json, resource, sys, time
from pathlib import Path
from bench.report_stream import serve_recorded
from bench.report import RUN_AT, TIMEZONE
from leadflow.report.build import weekly_period
from leadflow.report.render import render_csv, render_html, render_text
from leadflow.report.weekly import make_report

served = serve_recorded(Path(sys.argv[1]))
period = weekly_period(RUN_AT, TIMEZONE)
began, cpu = time.perf_counter(), time.process_time()
report = make_report(period)
location = "s3://bucket/reports/x/report.html"
rendered = (render_html(report, location), render_text(report, location), render_csv(report))
elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "cpu_seconds": cpu, "rss_mb": rss_mb, **served}))
"""


def record_stream(leads: int, directory: Path) -> dict[str, int]:
    """Write the by_day pages of `leads` leads under `directory` (one folder per index partition)."""
    from bench.report import RUN_AT, TIMEZONE, stored_items
    from leadflow.clock import iso
    from leadflow.report.build import fetch_window, weekly_period
    from leadflow.report.source import PROJECTION
    from leadflow.store.items import by_day_keys, by_day_partition, by_day_shard
    from leadflow.store.table import BY_DAY_PARTITION_KEY, BY_DAY_SORT_KEY

    window = fetch_window(weekly_period(RUN_AT, TIMEZONE))
    start, end = iso(window.start), iso(window.end)
    # The index holds its keys and projected attributes (a page's 1 MB counts them all); a Query
    # returns the attributes its ProjectionExpression names (the report's PROJECTION).
    returned = set(PROJECTION)
    unreturned_keys = sorted({"pk", "sk", BY_DAY_PARTITION_KEY, BY_DAY_SORT_KEY} - returned)
    buffers: dict[str, list[str]] = defaultdict(list)
    leads_file = (directory / "leads.jsonl").open("w")
    raw = directory / "raw"
    raw.mkdir()

    def flush(partition: str) -> None:
        with (raw / partition).open("a") as out:
            out.write("".join(buffers.pop(partition)))

    shards: dict[str, int] = {}
    for number, item in enumerate(stored_items(leads)):
        lead_id = str(item["pk"]).removeprefix("LEAD#")
        if number == 0:  # the generated sort key is the store's; the partition is its lead's shard
            keys = by_day_keys(_parse(item[BY_DAY_SORT_KEY].split("#", 1)[0]), lead_id, str(item["kind"]))
            assert keys[BY_DAY_SORT_KEY] == item[BY_DAY_SORT_KEY], keys
        if lead_id not in shards:
            shards = {lead_id: by_day_shard(lead_id)}  # a lead's items come together
        item[BY_DAY_PARTITION_KEY] = by_day_partition(item[BY_DAY_SORT_KEY][:7], shards[lead_id])
        answer = json.dumps({name: _wire(value) for name, value in item.items() if name in returned})
        if item["kind"] == "lead":
            leads_file.write(f"{item['pk']}\t{answer}\n")
        if not start <= item[BY_DAY_SORT_KEY] <= end:
            continue
        partition = item[BY_DAY_PARTITION_KEY]
        # The index item's size as JSON: the returned attributes and the keys (`"name": {"S": "..."}, `).
        size = len(answer) + sum(len(name) + len(item[name]) + 13 for name in unreturned_keys)
        # A sortable line: sort key, size in the index, the item as the Query returns it.
        buffers[partition].append(f"{item[BY_DAY_SORT_KEY]}\t{size}\t{answer}\n")
        if len(buffers[partition]) >= 500:
            flush(partition)
    for partition in list(buffers):
        flush(partition)
    leads_file.close()
    (directory / "window.json").write_text(json.dumps({"start": start, "end": end}))
    pages = items = 0
    for path in raw.iterdir():
        lines = [line.split("\t", 2)[1:] for line in sorted(path.read_text().splitlines())]
        items += len(lines)
        cut: list[list[str]] = [[]]
        size = 0
        for stored, answer in lines:
            if size + int(stored) > PAGE_BYTES:
                cut.append([])
                size = 0
            cut[-1].append(answer)
            size += int(stored)
        folder = directory / "pages" / path.name
        folder.mkdir(parents=True)
        for number, page in enumerate(cut):
            # The HTTP body DynamoDB sends for the page, LastEvaluatedKey on all but the last.
            more = f',"LastEvaluatedKey":{{"page":{{"N":"{number}"}}}}' if number + 1 < len(cut) else ""
            body = f'{{"Items":[{",".join(page)}],"Count":{len(page)},"ScannedCount":{len(page)}{more}}}'
            (folder / f"{number:05d}.json").write_bytes(body.encode())
        pages += len(cut)
        path.unlink()
    return {"items": items, "pages": pages}


def _wire(value: Any) -> dict[str, Any]:
    """A stored value as DynamoDB's JSON carries it (the generated items hold only these types)."""
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        return {"N": str(value)}
    if value is None:
        return {"NULL": True}
    raise TypeError(f"no wire form for {type(value).__name__} in the generated items")


def _parse(moment: str) -> Any:
    from leadflow.clock import parse_iso

    return parse_iso(moment)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


def _response(request: Any, body: bytes) -> Any:
    from botocore.awsrequest import AWSResponse, HTTPHeaders

    headers = {"content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "recorded"}
    return AWSResponse(request.url, 200, HTTPHeaders.from_dict(headers), _Raw(body))


def serve_recorded(directory: Path) -> dict[str, int]:
    """Answer the DynamoDB clients' by_day Queries and BatchGetItem calls from the recorded pages (the
    sending guard's reads find nothing recorded); returns live counters (queries, pages served) that
    the caller reads after the run."""
    from leadflow import aws
    from leadflow.store.table import BY_DAY_INDEX

    os.environ.setdefault("TABLE_NAME", "leadflow")
    counters = {"queries": 0, "pages_served": 0, "batch_gets": 0}
    leads: dict[str, Any] = {}
    recorded = {folder.name: folder for folder in (directory / "pages").iterdir()}
    window = json.loads((directory / "window.json").read_text())

    def answer(request: Any, **_: Any) -> Any:
        target = request.headers.get("X-Amz-Target", b"")
        operation = (target.decode() if isinstance(target, bytes) else target).rpartition(".")[2]
        params = json.loads(request.body)
        if operation == "Query" and params.get("IndexName") != BY_DAY_INDEX:
            # The sending guard's blocks (the report's sending-health line): none were recorded.
            body: dict[str, Any] = {"Items": [], "Count": 0, "ScannedCount": 0}
        elif operation == "GetItem":
            body = {}  # the guard's pause and today's per-domain counts: none recorded
        elif operation == "Query":
            values = params["ExpressionAttributeValues"]
            partition, start, end = values[":part"]["S"], values[":start"]["S"], values[":end"]["S"]
            after = params.get("ExclusiveStartKey")
            number = int(after["page"]["N"]) + 1 if after else 0
            counters["queries"] += after is None
            counters["pages_served"] += 1
            if start >= window["end"] or end < window["start"]:  # the due-back week: nothing recorded
                return _response(request, b'{"Items":[],"Count":0,"ScannedCount":0}')
            if (start, end) != (window["start"], window["end"]):
                raise RuntimeError(f"the recorded stream holds {window}, not {start} to {end}")
            if partition in recorded:  # the recorded bytes as they are: no re-encoding in the time
                return _response(request, (recorded[partition] / f"{number:05d}.json").read_bytes())
            body = {"Items": [], "Count": 0, "ScannedCount": 0}  # a shard nobody wrote to that day
        elif operation == "BatchGetItem":
            if not leads:
                for line in (directory / "leads.jsonl").read_text().splitlines():
                    pk, stored = line.split("\t", 1)
                    leads[pk] = json.loads(stored)
            counters["batch_gets"] += 1
            ((table, spec),) = params["RequestItems"].items()
            found = [leads[key["pk"]["S"]] for key in spec["Keys"] if key["pk"]["S"] in leads]
            body = {"Responses": {table: found}, "UnprocessedKeys": {}}
        else:
            raise RuntimeError(f"the recorded stream does not serve {operation}")
        return _response(request, json.dumps(body).encode())

    # Both clients: the report's reads use the low-level one, the sending guard the Table resource's.
    for client in (aws.client("dynamodb"), aws.table(os.environ["TABLE_NAME"]).meta.client):
        client.meta.events.register("before-send.dynamodb", answer)
    return counters


def run(quick: bool) -> None:
    from infra.layers import build_compiled

    leads = QUICK_LEADS if quick else LEADS
    directory = Path(tempfile.mkdtemp(prefix="leadflow-report-stream-"))
    try:
        recorded = record_stream(leads, directory)
        env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "recorded"}
        env |= {"AWS_SECRET_ACCESS_KEY": "recorded", "TABLE_NAME": "leadflow", "HMAC_SECRET_ARN": "unused"}
        # The compiled cadences, configuration and break-up steps the layer carries (/opt/compiled): in
        # Lambda the report reads these instead of parsing the YAML and rendering every cadence message
        # (~0.2 s of CPU a checkout would add to the time).
        env["COMPILED_DIR"] = str(build_compiled())
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(directory)],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"report over the recorded stream failed:\n{done.stderr[-3000:]}")
        measured = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    size = "100k" if leads == LEADS else f"{leads // 1000}k"
    note = (
        f"{leads:,} leads, {recorded['items']:,} index items in {recorded['pages']:,} pages; "
        f"{measured['queries']} queries; make_report + 3 renderings in a fresh process"
    )
    record(f"report_{size}_s", measured["seconds"], "s", TARGET_S, note)
    cpu_note = "CPU time of that process (its wall time less the waits for a core on a shared machine)"
    record(f"report_{size}_cpu_s", measured["cpu_seconds"], "s", TARGET_S, cpu_note)
    record(f"report_{size}_peak_mb", measured["rss_mb"], "MB", TARGET_MB, "peak RSS of that process")
