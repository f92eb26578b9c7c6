"""The SNS-compatible topic service on the edge: one database (``sns.sqlite3``) for every
region (topics are keyed by region and account), spoken in the query protocol; deliveries
go to queues through ``QueueSink`` and to functions through ``AsyncFunctionSink``."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from lamina.api.access import EdgeAccess
from lamina.api.app import EdgeApp
from lamina.api.endpoints import QueryService, ServiceDirectory
from lamina.api.model import load_model
from lamina.api.sns_api import SnsQueryCodec, sns_handlers
from lamina.domain.context import RequestContext
from lamina.domain.errors import AwsError
from lamina.services.queue_ports import QueueSink
from lamina.services.sns.errors import invalid_parameter
from lamina.services.sns.service import SnsService
from lamina.services.sns.topic_sink import SnsTopicSink
from lamina.services.topic_ports import TopicSink
from lamina.store.sns_store import SqliteSnsStore
from lamina.wiring.function_sink import RegionsFunctionSink
from lamina.wiring.host import HostParts
from lamina.wiring.regions import Regions

LINKS_PREFIX = "/_lamina/sns/"


def build_sns(host: HostParts, regions: Regions, queues: QueueSink) -> SnsService:
    settings = host.settings
    store = SqliteSnsStore(host.data / "sns.sqlite3", settings.queue_durability)
    return SnsService(
        store,
        queues,
        base_url=settings.base_url,
        functions=RegionsFunctionSink(regions, settings.account_id),
    )


def topic_sink(sns: SnsService) -> TopicSink:
    """The topic service as Lamina's own components publish to it (EventBridge targets,
    asynchronous-invocation destinations)."""
    return SnsTopicSink(sns.registry, sns.publisher)


def add_sns_links(app: EdgeApp, sns: SnsService) -> None:
    """Serve notifications' SubscribeURL and UnsubscribeURL under ``/_lamina/sns/``."""
    app.internal[LINKS_PREFIX] = sns_links(sns)


def add_sns_service(services: ServiceDirectory, sns: SnsService, access: EdgeAccess) -> None:
    model = load_model("sns")
    services.add_query(
        QueryService(
            "sns",
            "sns",
            str(model["metadata"]["apiVersion"]),
            SnsQueryCodec(model),
            sns_handlers(sns),
            check=access.checker("sns"),
        )
    )


Reply = tuple[int, list[tuple[bytes, bytes]], bytes]


def sns_links(
    service: SnsService,
) -> Callable[[str, dict[str, list[str]], dict[str, str], bytes], Awaitable[Reply]]:
    """The internal endpoint behind notifications' ``SubscribeURL`` and ``UnsubscribeURL``
    (``/_lamina/sns/?Action=ConfirmSubscription&TopicArn=..&Token=..`` and
    ``?Action=Unsubscribe&SubscriptionArn=..``): unsigned, as AWS's links are (the token,
    or the subscription ARN, is what they carry). Answers SNS's XML."""
    codec = SnsQueryCodec(load_model("sns"))

    async def serve(
        rest: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> Reply:
        del rest, headers, body
        action = (query.get("Action") or [""])[0]
        request_id = str(uuid.uuid4())
        try:
            if action == "ConfirmSubscription":
                topic_arn = (query.get("TopicArn") or [""])[0]
                parts = topic_arn.split(":")
                region, account = (parts[3], parts[4]) if len(parts) >= 6 else ("", "")
                ctx = RequestContext(request_id, account, region)
                arn = await service.registry.confirm(
                    ctx, topic_arn, (query.get("Token") or [""])[0]
                )
                return codec.render(action, {"SubscriptionArn": arn}, request_id)
            if action == "Unsubscribe":
                await service.registry.unsubscribe((query.get("SubscriptionArn") or [""])[0])
                return codec.render(action, {}, request_id)
            raise invalid_parameter("Action")
        except AwsError as error:
            return codec.render_error(error, request_id)

    return serve
