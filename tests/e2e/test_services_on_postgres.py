"""A representative subset of every service's end-to-end tests, run again on the PostgreSQL store (a fresh schema
per server): EventBridge delivery, DLQ, replay and regions; DynamoDB queries, transactions and streams; Pipes from streams
and queues; Scheduler invocations, retries and dead letters; CloudFormation stacks; CloudWatch's alarm scenario,
metric retention and Logs. (SQS: tests/services/sqs/test_on_postgres.py.)

The tests are the same functions as in their own modules (imported with the fixtures of their modules they use);
only the `server_store` fixture differs.
"""

from __future__ import annotations

import pytest

from e2e.test_cloudwatch_alarms import (  # noqa: F401
    plant,
    test_fifteen_failing_minutes_raise_the_alarm_and_run_its_actions,
)
from e2e.test_cloudwatch_metrics import test_datapoints_older_than_the_retention_are_gone  # noqa: F401
from e2e.test_dynamodb_queries import (  # noqa: F401
    ddb,
    test_query_on_global_secondary_index_is_sparse_and_paginates,
    test_query_pagination_filter_projection_and_count,
    test_transact_write_items_all_or_nothing,
    test_ttl_expiry_deletes_items_with_the_injected_clock,
)
from e2e.test_dynamodb_regions import (  # noqa: F401
    ddb_server,
    test_each_region_has_its_own_streams,
    test_items_written_in_one_region_stay_in_that_region,
    test_tables_of_the_same_name_in_two_regions_are_two_tables,
)
from e2e.test_dynamodb_streams import (  # noqa: F401
    test_records_are_ordered_per_key_under_concurrent_writes,
    test_retention_trims_records_and_old_iterators_see_trimmed_data,
    test_transaction_records_commit_with_the_items,
)
from e2e.test_events_e2e import (  # noqa: F401
    endpoint,
    test_archive_and_replay_through_boto3_and_the_cli,
    test_bus_rule_and_target_lifecycle,
    test_events_reach_a_queue_with_input_transformer,
    test_failing_target_goes_to_the_dlq_with_aws_attributes_and_redrive_delivers_it,
    test_retries_follow_the_injected_clock,
)
from e2e.test_events_regions import (  # noqa: F401
    srv,
    test_put_events_in_a_region_reaches_only_its_rules_stamped_with_its_region,
    test_resources_of_the_same_name_in_two_regions_are_apart_with_their_region_s_arns,
    test_targets_in_another_region_are_reached_in_that_region,
)
from e2e.test_example_templates import test_power_dispatch_template_runs_the_system  # noqa: F401
from e2e.test_logs import (  # noqa: F401
    logs_server,
    test_groups_streams_and_events,
    test_retention_trims_old_events_on_the_clock,
)
from e2e.test_pipes import (  # noqa: F401
    clocked,
    test_automatic_bisect_isolates_a_poison_record_and_dead_letters_it,
    test_partial_batch_failures_retry_only_the_failed_records,
    test_queue_source_with_python_enrichment_notifies_orders,
    test_stream_to_bus_filters_deletions_and_reshapes_records,
)
from e2e.test_scheduler_e2e import (  # noqa: F401
    h,
    test_at_schedule_with_delete_fires_once_then_is_deleted,
    test_exhausted_retries_go_to_the_dead_letter_queue_with_aws_attributes,
    test_failed_invocations_retry_with_the_attempt_number,
    test_queue_bus_and_universal_targets,
)
from services.cloudformation.test_stacks import (  # noqa: F401
    test_a_failing_resource_rolls_the_stack_back,
    test_a_stack_is_created_works_updates_only_what_changed_and_deletes,
    test_change_sets_as_aws_cloudformation_deploy_uses_them,
)


@pytest.fixture
def server_store() -> str:
    return "postgres"
