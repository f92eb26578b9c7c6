"""The edge's adapter of EventBridge's archive and replay operations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from lamina.domain.context import RequestContext
from lamina.services.events.archives import Archive, archive_arn
from lamina.services.events.ports import ArchiveKey
from lamina.services.events.replays import Replay
from lamina.services.events.service import EventsService

Handler = Callable[[RequestContext, dict[str, Any]], Awaitable[dict[str, Any]]]


def _time(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def archive_output(archive: Archive, *, described: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if described:
        out["ArchiveArn"] = archive.arn
    out["ArchiveName"] = archive.key.name
    out["EventSourceArn"] = archive.bus.arn
    if described:
        if archive.description is not None:
            out["Description"] = archive.description
        if archive.event_pattern is not None:
            out["EventPattern"] = archive.event_pattern
    out["State"] = "ENABLED"
    out["RetentionDays"] = archive.retention_days
    out["SizeBytes"] = archive.size_bytes
    out["EventCount"] = archive.event_count
    out["CreationTime"] = _time(archive.created)
    return out


def replay_output(replay: Replay, *, described: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"ReplayName": replay.key.name}
    if described:
        out["ReplayArn"] = replay.arn
        if replay.description is not None:
            out["Description"] = replay.description
    out["State"] = replay.state
    if replay.state_reason is not None:
        out["StateReason"] = replay.state_reason
    out["EventSourceArn"] = archive_arn(replay.archive)
    if described:
        destination: dict[str, Any] = {"Arn": replay.destination.arn}
        if replay.filter_arns:
            destination["FilterArns"] = list(replay.filter_arns)
        out["Destination"] = destination
    out["EventStartTime"] = _time(replay.event_start)
    out["EventEndTime"] = _time(replay.event_end)
    if replay.last_replayed is not None:
        out["EventLastReplayedTime"] = _time(replay.last_replayed)
    out["ReplayStartTime"] = _time(replay.replay_start)
    if replay.replay_end is not None:
        out["ReplayEndTime"] = _time(replay.replay_end)
    return out


def _paged(member: str, items: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {member: items}
    if token is not None:
        out["NextToken"] = token
    return out


def events_archive_handlers(service: EventsService) -> dict[str, Handler]:
    archives = service.archives
    replays = service.replays

    def key(ctx: RequestContext, name: str) -> ArchiveKey:
        return ArchiveKey(ctx.region, ctx.account_id, name)

    async def create_archive(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        archive = await archives.create(
            key(ctx, params["ArchiveName"]),
            params["EventSourceArn"],
            description=params.get("Description"),
            event_pattern=params.get("EventPattern"),
            retention_days=params.get("RetentionDays"),
        )
        return {
            "ArchiveArn": archive.arn,
            "State": "ENABLED",
            "CreationTime": _time(archive.created),
        }

    async def describe_archive(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return archive_output(archives.archive(key(ctx, params["ArchiveName"])), described=True)

    async def list_archives(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        found, token = archives.list(
            ctx.region,
            ctx.account_id,
            prefix=params.get("NamePrefix"),
            source_arn=params.get("EventSourceArn"),
            state=params.get("State"),
            limit=params.get("Limit"),
            token=params.get("NextToken"),
        )
        return _paged("Archives", [archive_output(a, described=False) for a in found], token)

    async def update_archive(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        archive = await archives.update(
            key(ctx, params["ArchiveName"]),
            description=params.get("Description"),
            event_pattern=params.get("EventPattern"),
            retention_days=params.get("RetentionDays"),
        )
        return {
            "ArchiveArn": archive.arn,
            "State": "ENABLED",
            "CreationTime": _time(archive.created),
        }

    async def delete_archive(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        await archives.delete(key(ctx, params["ArchiveName"]))
        return {}

    async def start_replay(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        destination = params["Destination"]
        replay = await replays.start_replay(
            key(ctx, params["ReplayName"]),
            source_arn=params["EventSourceArn"],
            event_start=params["EventStartTime"],
            event_end=params["EventEndTime"],
            destination_arn=destination["Arn"],
            filter_arns=list(destination.get("FilterArns") or []),
            description=params.get("Description"),
        )
        return {
            "ReplayArn": replay.arn,
            "State": "STARTING",
            "ReplayStartTime": _time(replay.replay_start),
        }

    async def describe_replay(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return replay_output(replays.replay(key(ctx, params["ReplayName"])), described=True)

    async def list_replays(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        found, token = replays.list(
            ctx.region,
            ctx.account_id,
            prefix=params.get("NamePrefix"),
            state=params.get("State"),
            source_arn=params.get("EventSourceArn"),
            limit=params.get("Limit"),
            token=params.get("NextToken"),
        )
        return _paged("Replays", [replay_output(r, described=False) for r in found], token)

    async def cancel_replay(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        replay = await replays.cancel(key(ctx, params["ReplayName"]))
        return {"ReplayArn": replay.arn, "State": replay.state}

    return {
        "CreateArchive": create_archive,
        "DescribeArchive": describe_archive,
        "ListArchives": list_archives,
        "UpdateArchive": update_archive,
        "DeleteArchive": delete_archive,
        "StartReplay": start_replay,
        "DescribeReplay": describe_replay,
        "ListReplays": list_replays,
        "CancelReplay": cancel_replay,
    }
