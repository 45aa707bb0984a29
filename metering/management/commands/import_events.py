"""``manage.py import_events FILE.csv|FILE.jsonl --organization SLUG``: backfills.

CSV files have a header row naming event fields (``event_id``, ``customer_id``,
``operation``, ``quantity``, ``occurred_at``, ...); empty cells are omitted and the
``properties`` cell holds a JSON object. JSON Lines files hold one event object per
line. Lines go through the same ingestion service as the API, in batches, so a
re-run of the same file only reports duplicates.
"""

import csv
from collections.abc import Iterator
from pathlib import Path

import orjson
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from metering.models import Organization
from metering.services import MAX_BATCH_EVENTS, Status, usage_events_ingest

SHOWN_PROBLEMS = 20


def _csv_rows(path: Path) -> Iterator[tuple[int, object]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            event: dict = {k: v for k, v in row.items() if k and v not in ("", None)}
            if "properties" in event:
                try:
                    event["properties"] = orjson.loads(event["properties"])
                except orjson.JSONDecodeError:
                    pass  # left as a string: reported as "Must be a JSON object."
            volume = event.get("data_volume_bytes")
            if isinstance(volume, str) and volume.isascii() and volume.isdigit():
                event["data_volume_bytes"] = int(volume)
            yield reader.line_num, event


def _jsonl_rows(path: Path) -> Iterator[tuple[int, object]]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, orjson.loads(line)
            except orjson.JSONDecodeError as error:
                yield number, _Unparseable(str(error))


class _Unparseable:
    def __init__(self, message: str) -> None:
        self.message = message


class Command(BaseCommand):
    help = "Import usage events from a CSV or JSON Lines file (backfills)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--organization", required=True, help="Organization slug.")
        parser.add_argument("--batch-size", type=int, default=5_000)

    def handle(self, *args, file: Path, organization: str, batch_size: int, **opts):
        org = Organization.objects.filter(slug=organization).first()
        if org is None:
            raise CommandError(f"No organization with slug {organization!r}.")
        if not file.is_file():
            raise CommandError(f"No file {str(file)!r}.")
        suffix = file.suffix.lower()
        if suffix == ".csv":
            rows = _csv_rows(file)
        elif suffix in (".jsonl", ".ndjson"):
            rows = _jsonl_rows(file)
        else:
            raise CommandError("Use a .csv or .jsonl file.")
        batch_size = max(1, min(batch_size, MAX_BATCH_EVENTS))
        counts = dict.fromkeys(
            (Status.ACCEPTED, Status.DUPLICATE, Status.CONFLICT, Status.REJECTED), 0
        )
        problems: list[str] = []
        batch: list[tuple[int, object]] = []

        def send() -> None:
            lines = [line for line, _ in batch]
            events = [
                event for _, event in batch if not isinstance(event, _Unparseable)
            ]
            for line, event in batch:
                if isinstance(event, _Unparseable):
                    counts[Status.REJECTED] += 1
                    problems.append(f"line {line}: not valid JSON ({event.message})")
            parsed_lines = [
                line for line, event in batch if not isinstance(event, _Unparseable)
            ]
            result = usage_events_ingest(
                organization=org, events=events, now=timezone.now()
            )
            for outcome in result.outcomes:
                counts[outcome.status] += 1
                if outcome.errors:
                    line = parsed_lines[outcome.index]
                    problems.append(f"line {line}: {outcome.status} {outcome.errors}")
            progress.update(len(lines))
            batch.clear()

        with tqdm(desc=file.name, unit="event", file=self.stderr) as progress:
            for item in rows:
                batch.append(item)
                if len(batch) >= batch_size:
                    send()
            if batch:
                send()
        for problem in problems[:SHOWN_PROBLEMS]:
            self.stderr.write(problem)
        if len(problems) > SHOWN_PROBLEMS:
            self.stderr.write(f"... and {len(problems) - SHOWN_PROBLEMS} more")
        self.stdout.write(
            f"{sum(counts.values())} lines: {counts[Status.ACCEPTED]} accepted, "
            f"{counts[Status.DUPLICATE]} duplicate, {counts[Status.CONFLICT]} "
            f"conflict, {counts[Status.REJECTED]} rejected"
        )
