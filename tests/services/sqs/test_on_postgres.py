"""A representative subset of the SQS tests, run again on the PostgreSQL store (a fresh schema per server).

The tests are the same functions as in their own modules (with the fixtures of theirs they use); the
`server_store` fixture differs, and `sqs` lets the background loops reach their sleep before counting them.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from e2e.test_sqs_regions import (  # noqa: F401
    sqs_server,
    test_a_message_sent_in_one_region_stays_in_that_region,
    test_queues_of_the_same_name_in_two_regions_are_two_queues,
)
from pipework.clock import ManualClock
from pipework.testing import RunningServer
from services.sqs.conftest import Sqs
from services.sqs.test_fifo import (  # noqa: F401
    test_a_group_whose_message_became_visible_again_restarts_from_that_message,
    test_explicit_deduplication_id_drops_repeats_for_five_minutes,
    test_messages_of_a_group_come_in_order_and_a_group_in_flight_blocks_its_later_messages,
    test_send_message_batch_deduplicates_within_the_batch_and_keeps_order,
)
from services.sqs.test_long_polling import (  # noqa: F401
    test_a_fifo_receive_waits_while_the_only_group_is_in_flight,
    test_a_waiting_receive_returns_empty_after_the_wait_time,
    test_a_waiting_receive_returns_when_a_message_is_sent,
    test_a_waiting_receive_wakes_when_a_delayed_message_becomes_due,
    test_several_waiting_receives_share_the_messages,
)
from services.sqs.test_messages import (  # noqa: F401
    test_change_message_visibility_extends_or_ends_the_timeout,
    test_delay_seconds_per_message_and_per_queue,
    test_delete_message_batch_with_an_outdated_handle_still_deletes_the_others,
    test_deleting_with_an_outdated_receipt_handle_succeeds_without_deleting,
    test_messages_older_than_the_retention_period_are_removed,
    test_send_and_delete_message_batch_report_each_entry,
    test_send_receive_delete_round_trip_with_aws_md5s,
    test_system_attributes_report_sender_times_and_receive_count,
    test_visibility_timeout_hides_a_received_message_until_it_passes,
)
from services.sqs.test_redrive import (  # noqa: F401
    test_a_message_received_more_than_max_receive_count_times_moves_to_the_dlq,
    test_fifo_redrive_keeps_the_group_moving,
    test_message_move_task_moves_dead_letters_back_to_their_source,
)


@pytest.fixture
def server_store() -> str:
    return "postgres"


@pytest.fixture
def sqs(make_server: Callable[..., RunningServer], clock: ManualClock) -> Sqs:
    """As `services.sqs.conftest.sqs`, but the other services' loops are given the time their first store reads
    take on a database server (real I/O, longer than the few loop turns `Sqs` allows them) to reach their sleep:
    otherwise a loop falling asleep later would count as a waiting receive."""
    server = make_server(clock=clock)
    server.run(clock.travel(0))  # settles the work started so far without moving time
    return Sqs(server, clock)
