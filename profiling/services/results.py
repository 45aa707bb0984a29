"""Storing a finished run's rows: segments, customer profiles, behavioural tags and
end-user profiles, replacing whatever the run stored before. Rows go in with COPY on
PostgreSQL (``bulk_create`` elsewhere).
"""

import json
from decimal import Decimal

import numpy as np
import orjson
from django.db import connection, models, transaction

from profiling import end_users, pipeline
from profiling.models import (
    BehavioralTag,
    CustomerProfile,
    EndUserProfile,
    ProfilingRun,
    Segment,
)
from profiling.selectors import RawEvents


@transaction.atomic
def _store(run: ProfilingRun, result: pipeline.ProfileResult, customer_ids) -> None:
    CustomerProfile.objects.filter(run=run).delete()
    BehavioralTag.objects.filter(run=run).delete()
    Segment.objects.filter(run=run).delete()
    segments = Segment.objects.bulk_create(
        [
            Segment(
                run=run,
                label=s.label,
                name=s.name,
                size=s.size,
                top_operations=s.top_operations,
                centroid_summary=s.centroid_summary,
                transitions=s.transitions,
            )
            for s in result.segments
        ]
    )
    by_label = {s.label: s.pk for s in segments}
    _insert_rows(
        CustomerProfile,
        [
            "run_id",
            "customer_id",
            "segment_id",
            "features",
            "next_operations",
            "predicted_counts",
            "predicted_path",
            "recent_operations",
            "projection_x",
            "projection_y",
        ],  # fmt: skip
        (
            (
                run.pk,
                int(customer_id),
                by_label.get(int(result.labels[i])),
                _json(result.summaries[i]),
                _json(result.next_operations[i]),
                _json(result.predicted_counts[i]),
                _json(result.predicted_paths[i]),
                _json(result.recent_operations[i]),
                float(result.projection[i, 0]),
                float(result.projection[i, 1]),
            )
            for i, customer_id in enumerate(customer_ids.tolist())
        ),
    )
    _insert_rows(
        BehavioralTag,
        ["run_id", "customer_id", "name", "score", "explanation"],
        (
            (
                run.pk,
                int(customer_ids[tag.customer]),
                tag.name[:100],
                Decimal(f"{tag.score:.3f}"),
                tag.explanation[:300],
            )
            for tag in result.tags
        ),
    )


def _end_user_ids(
    raw: RawEvents, customer_ids: np.ndarray, keys: np.ndarray
) -> np.ndarray:
    """The ``user_id`` of each (customer id, end-user key) from the extraction."""
    names = dict(
        zip(
            zip(raw.end_user_customer.tolist(), raw.end_user_key.tolist(), strict=True),
            raw.end_user_id.tolist(),
            strict=True,
        )
    )
    return np.array(
        [
            names[pair]
            for pair in zip(customer_ids.tolist(), keys.tolist(), strict=True)
        ],
        dtype=str,
    )


@transaction.atomic
def _store_end_users(
    run: ProfilingRun,
    users: end_users.EndUserResult,
    customer_ids: np.ndarray,
    user_ids: np.ndarray,
) -> None:
    EndUserProfile.objects.filter(run=run).delete()
    _insert_rows(
        EndUserProfile,
        [
            "run_id",
            "customer_id",
            "user_id",
            "event_count",
            "features",
            "next_operations",
            "recent_operations",
            "tags",
        ],  # fmt: skip
        (
            (
                run.pk,
                int(customer_ids[i]),
                str(user_ids[i]),
                users.summaries[i]["events"],
                _json(users.summaries[i]),
                _json(users.next_operations[i]),
                _json(users.recent_operations[i]),
                _json(users.tags[i]),
            )
            for i in range(len(users))
        ),
    )


def _json(value) -> str:
    return orjson.dumps(value).decode()


def _insert_rows(model, columns: list[str], rows) -> None:
    """Many new rows at once: COPY on PostgreSQL, ``bulk_create`` elsewhere.

    JSON columns arrive as JSON text; ids as plain integers.
    """
    if connection.vendor == "postgresql":
        fields = [model._meta.get_field(c).column for c in columns]
        table = model._meta.db_table
        with connection.cursor() as cursor:
            with cursor.cursor.copy(
                f"COPY {table} ({', '.join(fields)}) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
        return
    json_fields = {
        c for c in columns if isinstance(model._meta.get_field(c), models.JSONField)
    }
    model.objects.bulk_create(
        [
            model(
                **{
                    c: (json.loads(v) if c in json_fields else v)
                    for c, v in zip(columns, row, strict=True)
                }
            )
            for row in rows
        ],
        batch_size=2_000,
    )
