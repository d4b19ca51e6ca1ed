"""DynamoDB adapter: the only package that reads or writes the table, split by item type.

Single-table design, items keyed by `pk`/`sk`:
- lead:        pk=LEAD#<id>      sk=LEAD              (gsi1 by created_at)
- enrollment:  pk=LEAD#<id>      sk=ENROLLMENT#<nnn>  (gsi1 by started_at)
- touch:       pk=LEAD#<id>      sk=TOUCH#<nnn>#<tt>  (gsi1 by sent_at)
- task:        pk=LEAD#<id>      sk=TASK#<nnn>#<tt>   (gsi1 by due_at; a rep's task. A call, LinkedIn
                                                       or video touch due the day it ran has no TOUCH#
                                                       item: its task carries the record)
- event:       pk=LEAD#<id>      sk=EVENT#<iso time>#<kind>  (gsi1 by time: replies, stops, engagement)
- report:      pk=REPORT#<date>  sk=REPORT            (a weekly report was sent: retries send nothing)
- email index: pk=EMAIL#<hmac>   sk=EMAIL             (the address itself is never a key)
- message:     pk=MSG#<ses id>   sk=MSG               (SES MessageId or SNS message id -> lead,
                                                       enrollment, touch; our own Message-ID names its
                                                       touch itself, signed: tokens.own_message_id)
- suppression: pk=SUPPRESS#<hmac> sk=SUPPRESS         (an address never to be mailed again)
- submission:  pk=LEAD#<id>      sk=SUBMISSION#<iso time>#<submission id>  (each post: consent audit trail)
- held post:   pk=HELD#<hmac>    sk=HELD#<iso time>#<submission id>  (a post over a post limit, not
                                                       enrolled until released: held_items)
- held mail:   pk=LEAD#<id>      sk=HELDMAIL#<mail id>  (unproven mail waiting for the owner's decision)

gsi1 (the by_day index): gsi1pk=MONTH#<yyyy-mm>#<shard> (UTC month; shard 0-7 from the lead id, so
a busy day's writes spread over eight partitions), gsi1sk=<iso time>#<lead id>, and every
indexed item carries `kind`. A period is one range Query per (month, shard) it touches (the weekly
report's 91 days: ~32); a day is a range of its month. Items keyed DAY#<yyyy-mm-dd>#<shard> by
earlier versions are rekeyed once by `reindex` (`leadflow reindex`).

Modules: `table` (the key schema, shared with CDK), `items` (key builders and low-level helpers),
`lead_items`, `enrollment_items` (enrollments and touches), `suppression_items`, `event_items`
(events, the by_day index, report claims), `task_items`, `held_items` (held posts), `held_mail_items`
(held inbound mail). May import only the shared top-level modules.
"""
