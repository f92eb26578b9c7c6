"""CloudWatch Logs' operations as IAM sees them: log group and stream operations act on
``arn:aws:logs:<region>:<account>:log-group:<group>:log-stream:<stream>`` (the stream empty
when the request names none, the group too for account-wide listings: AWS's messages name
``log-group::log-stream:``); operations on other resources (anomaly detectors, lookup
tables, integrations, deliveries) act on the ARN they name, else on ``*``.
"""

from __future__ import annotations

from lamina.domain.iam_actions.rules import Params, Rule, Scope, anywhere, arn_param, table, text


def _group_name(params: Params) -> str:
    group = text(params, "logGroupName") or text(params, "logGroupIdentifier")
    if group.startswith("arn:"):
        # arn:aws:logs:<region>:<account>:log-group:<name>[:*]
        rest = group.split(":log-group:", 1)[-1]
        return rest[:-2] if rest.endswith(":*") else rest
    return group


def log_stream(params: Params, scope: Scope) -> str:
    """The group (and stream) the request names: AWS's resource in its messages."""
    group = _group_name(params)
    stream = text(params, "logStreamName")
    return f"arn:aws:logs:{scope.region}:{scope.account}:log-group:{group}:log-stream:{stream}"


def log_group(params: Params, scope: Scope) -> str:
    group = _group_name(params)
    if not group:
        return "*"
    return f"arn:aws:logs:{scope.region}:{scope.account}:log-group:{group}"


LOGS: dict[str, Rule] = table(
    "logs",
    {
        log_stream: (
            "CreateLogGroup CreateLogStream DeleteLogGroup DeleteLogStream DescribeLogGroups "
            "DescribeLogStreams FilterLogEvents GetLogEvents PutLogEvents PutRetentionPolicy "
            "DeleteRetentionPolicy DescribeMetricFilters DescribeSubscriptionFilters "
            "ListTagsLogGroup TagLogGroup UntagLogGroup GetLogGroupFields DescribeQueries "
            "PutMetricFilter DeleteMetricFilter PutSubscriptionFilter DeleteSubscriptionFilter "
            "AssociateKmsKey DisassociateKmsKey CreateExportTask"
        ),
        log_group: (
            "DeleteDataProtectionPolicy DeleteIndexPolicy DeleteSyslogConfiguration "
            "DeleteTransformer GetDataProtectionPolicy GetTransformer PutBearerTokenAuthentication "
            "PutDataProtectionPolicy PutIndexPolicy PutLogGroupDeletionProtection "
            "PutSyslogConfiguration PutTransformer ListSyslogConfigurations"
        ),
        arn_param("resourceArn"): (
            "ListTagsForResource TagResource UntagResource PutDeliverySource"
        ),
        arn_param("anomalyDetectorArn"): (
            "DeleteLogAnomalyDetector GetLogAnomalyDetector ListAnomalies UpdateAnomaly "
            "UpdateLogAnomalyDetector"
        ),
        arn_param("lookupTableArn"): "DeleteLookupTable GetLookupTable UpdateLookupTable",
        arn_param("integrationArn"): (
            "AssociateSourceToS3TableIntegration ListSourcesForS3TableIntegration"
        ),
        arn_param("deliveryDestinationArn"): "CreateDelivery",
        arn_param("importSourceArn"): "CreateImportTask",
        anywhere: (
            "CancelExportTask CancelImportTask CreateLogAnomalyDetector CreateLookupTable "
            "CreateScheduledQuery DeleteAccountPolicy DeleteDelivery DeleteDeliveryDestination "
            "DeleteDeliveryDestinationPolicy DeleteDeliverySource DeleteDestination "
            "DeleteIntegration DeleteQueryDefinition DeleteResourcePolicy DeleteScheduledQuery "
            "DescribeAccountPolicies DescribeConfigurationTemplates DescribeDeliveries "
            "DescribeDeliveryDestinations DescribeDeliverySources DescribeDestinations "
            "DescribeExportTasks DescribeFieldIndexes DescribeImportTaskBatches "
            "DescribeImportTasks DescribeIndexPolicies DescribeLookupTables "
            "DescribeQueryDefinitions DescribeResourcePolicies "
            "DisassociateSourceFromS3TableIntegration GetDelivery GetDeliveryDestination "
            "GetDeliveryDestinationPolicy GetDeliverySource GetIntegration GetLogFields "
            "GetLogObject GetLogRecord GetQueryResults GetScheduledQuery "
            "GetScheduledQueryHistory GetStorageTierPolicy ListAggregateLogGroupSummaries "
            "ListIntegrations ListLogAnomalyDetectors ListLogGroups ListLogGroupsForQuery "
            "ListScheduledQueries PutAccountPolicy PutDeliveryDestination "
            "PutDeliveryDestinationPolicy PutDestination PutDestinationPolicy PutIntegration "
            "PutQueryDefinition PutResourcePolicy PutStorageTierPolicy StartLiveTail StartQuery "
            "StopQuery TestMetricFilter TestTransformer UpdateDeliveryConfiguration "
            "UpdateScheduledQuery"
        ),
    },
)
