"""The SQS-compatible queue service on the edge: one database for every region (queues are
keyed by region and account), spoken in JSON 1.0 (current SDKs) and query (older SDKs)."""

from __future__ import annotations

from lamina.api.access import EdgeAccess
from lamina.api.endpoints import JsonService, QueryService, ServiceDirectory
from lamina.api.model import load_model
from lamina.api.protocols import JsonCodec, QueryCodec
from lamina.api.protocols.sqs_query_names import SQS_QUERY_NAMES, SQS_XML_NAMESPACE
from lamina.api.sqs_message_api import message_engine, sqs_message_handlers
from lamina.api.sqs_queue_api import sqs_queue_handlers
from lamina.services.sqs.ports_adapter import SqsQueuePorts
from lamina.services.sqs.service import SqsService
from lamina.store.sqs_store import SqliteSqsStore
from lamina.wiring.host import HostParts

SQS_JSON_NAMESPACE = "com.amazonaws.sqs"


def build_queues(host: HostParts) -> SqsService:
    settings = host.settings
    store = SqliteSqsStore(host.data / "sqs.sqlite3", settings.queue_durability)
    return SqsService(store, base_url=settings.base_url, max_messages=settings.queue_max_messages)


def queue_ports(sqs: SqsService) -> SqsQueuePorts:
    """The queue service as Lamina's own components use it (pollers, destinations)."""
    return SqsQueuePorts(message_engine(sqs))


def add_queue_service(services: ServiceDirectory, sqs: SqsService, access: EdgeAccess) -> None:
    handlers = {**sqs_queue_handlers(sqs), **sqs_message_handlers(sqs)}
    model = load_model("sqs")
    check = access.checker("sqs")
    services.add_json(
        JsonService(
            "sqs",
            "sqs",
            JsonCodec(model, error_namespace=SQS_JSON_NAMESPACE),
            handlers,
            check=check,
        )
    )
    services.add_query(
        QueryService(
            "sqs",
            "sqs",
            str(model["metadata"]["apiVersion"]),
            QueryCodec(model, xml_namespace=SQS_XML_NAMESPACE, names=SQS_QUERY_NAMES),
            handlers,
            check=check,
            path_member="QueueUrl",
        )
    )
