"""The one-off upgrade of the by_day index from day to month partitions (`leadflow reindex`).

Versions before this one keyed indexed items gsi1pk=DAY#<yyyy-mm-dd>#<shard>; readers now query
MONTH#<yyyy-mm>#<shard> and would not see them. A paged Scan finds what is still keyed by day and
rewrites gsi1pk alone (the sort key, the time first, is unchanged), each on the condition that it is
still the old value: a writer that rewrote the item meanwhile keeps its key, and a deleted item is not
brought back. Idempotent (a second run finds nothing to do) and resumable (an interrupted run, run
again, rewrites what is left).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.conditions import Attr
from botocore.exceptions import ClientError

from leadflow.store.items import by_day_partition, dynamodb_table, is_condition_failure
from leadflow.store.table import BY_DAY_PARTITION_KEY, PARTITION_KEY, SORT_KEY

OLD_PREFIX = "DAY#"


@dataclass
class Reindexed:
    scanned: int = 0  # items the Scan read (DynamoDB counts the filtered ones too)
    rekeyed: int = 0
    changed_meanwhile: int = 0  # rewritten or deleted by someone else between the Scan and the update

    def summary(self) -> str:
        return (
            f"{self.rekeyed} items moved to month partitions, {self.changed_meanwhile} changed meanwhile "
            f"(left as they are), {self.scanned} scanned"
        )


def month_partition(old: str) -> str:
    """DAY#<yyyy-mm-dd>#<shard> -> MONTH#<yyyy-mm>#<shard>: the same shard, the day's month."""
    _, day, shard = old.split("#")
    return by_day_partition(day[:7], int(shard))


def reindex(page_size: int | None = None, progress: Callable[[Reindexed], None] | None = None) -> Reindexed:
    """Move every item still keyed by day to its month partition; `progress` is called after each page."""
    table = dynamodb_table()
    done = Reindexed()
    scan: dict[str, Any] = {
        "FilterExpression": Attr(BY_DAY_PARTITION_KEY).begins_with(OLD_PREFIX),
        "ProjectionExpression": "#pk, #sk, #part",
        "ExpressionAttributeNames": {"#pk": PARTITION_KEY, "#sk": SORT_KEY, "#part": BY_DAY_PARTITION_KEY},
    }
    if page_size:
        scan["Limit"] = page_size
    while True:
        page = table.scan(**scan)
        done.scanned += page["ScannedCount"]
        for item in page["Items"]:
            old = str(item[BY_DAY_PARTITION_KEY])
            try:
                table.update_item(
                    Key={PARTITION_KEY: item[PARTITION_KEY], SORT_KEY: item[SORT_KEY]},
                    UpdateExpression="SET #part = :new",
                    ConditionExpression="#part = :old",
                    ExpressionAttributeNames={"#part": BY_DAY_PARTITION_KEY},
                    ExpressionAttributeValues={":new": month_partition(old), ":old": old},
                )
                done.rekeyed += 1
            except ClientError as error:
                if not is_condition_failure(error):
                    raise
                done.changed_meanwhile += 1
        if progress:
            progress(done)
        if "LastEvaluatedKey" not in page:
            return done
        scan["ExclusiveStartKey"] = page["LastEvaluatedKey"]
