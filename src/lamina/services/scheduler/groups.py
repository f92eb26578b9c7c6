"""Schedule groups: ``default`` always exists in each region and account; at most 500 others
(AWS's quota); tags belong to groups. Deleting a group deletes its schedules (through the
service, which also stops them)."""

from __future__ import annotations

from dataclasses import replace

from lamina.services.scheduler.errors import (
    SchedulerValidationException,
    ServiceQuotaExceededException,
    group_exists,
    group_not_found,
)
from lamina.services.scheduler.listing import page
from lamina.services.scheduler.ports import SchedulerStore
from lamina.services.scheduler.records import DEFAULT_GROUP, GroupRecord

MAX_GROUPS = 500
MAX_TAGS = 200
Account = tuple[str, str]  # (region, account id)


class ScheduleGroups:
    """Every region's and account's groups, in memory, written through to the store."""

    def __init__(self, store: SchedulerStore, now: float, *, max_groups: int = MAX_GROUPS) -> None:
        self.store = store
        self.max_groups = max_groups
        self._started = now
        self._groups: dict[Account, dict[str, GroupRecord]] = {}

    def load(self, groups: list[GroupRecord]) -> None:
        for group in groups:
            self._groups.setdefault((group.region, group.account_id), {})[group.name] = group

    def _of(self, region: str, account_id: str) -> dict[str, GroupRecord]:
        groups = self._groups.setdefault((region, account_id), {})
        if DEFAULT_GROUP not in groups:
            groups[DEFAULT_GROUP] = GroupRecord(
                region, account_id, DEFAULT_GROUP, self._started, self._started
            )
        return groups

    def get(self, region: str, account_id: str, name: str) -> GroupRecord:
        group = self._of(region, account_id).get(name)
        if group is None:
            raise group_not_found(name)
        return group

    def by_arn(self, region: str, account_id: str, arn: str) -> GroupRecord:
        prefix = f"arn:aws:scheduler:{region}:{account_id}:schedule-group/"
        if not arn.startswith(prefix):
            raise group_not_found(arn.rpartition("/")[2])
        return self.get(region, account_id, arn[len(prefix) :])

    def listing(
        self,
        region: str,
        account_id: str,
        prefix: str | None,
        max_results: int | None,
        next_token: str | None,
    ) -> tuple[list[GroupRecord], str | None]:
        groups = [
            group
            for group in self._of(region, account_id).values()
            if not prefix or group.name.startswith(prefix)
        ]
        return page(groups, lambda group: [group.name], max_results, next_token)

    async def create(
        self,
        region: str,
        account_id: str,
        name: str,
        tags: list[tuple[str, str]],
        now: float,
        client_token: str | None = None,
    ) -> GroupRecord:
        """A new group; the same ``client_token`` again answers the group it created."""
        groups = self._of(region, account_id)
        existing = groups.get(name)
        if existing is not None:
            if client_token is not None and existing.client_token == client_token:
                return existing
            raise group_exists(name)
        if len(groups) > self.max_groups:  # the default group is not counted
            raise ServiceQuotaExceededException(
                f"The number of schedule groups in this account exceeds {self.max_groups}."
            )
        _check_tags(tags)
        group = GroupRecord(region, account_id, name, now, now, tuple(tags), client_token)
        groups[name] = group  # reserved before the write: a concurrent create conflicts
        try:
            await self.store.put_group(group)
        except BaseException:
            groups.pop(name, None)
            raise
        return group

    async def delete(self, region: str, account_id: str, name: str) -> None:
        """Forget the group; the caller stops its schedules. The store deletes both."""
        if name == DEFAULT_GROUP:
            raise SchedulerValidationException("The default schedule group cannot be deleted.")
        self.get(region, account_id, name)
        await self.store.delete_group(region, account_id, name)
        self._of(region, account_id).pop(name, None)

    async def tag(
        self, region: str, account_id: str, arn: str, tags: list[tuple[str, str]], now: float
    ) -> None:
        group = self.by_arn(region, account_id, arn)
        merged = dict(group.tags)
        merged.update(tags)
        _check_tags(list(merged.items()))
        await self._replace(replace(group, tags=tuple(merged.items()), modified=now))

    async def untag(
        self, region: str, account_id: str, arn: str, keys: list[str], now: float
    ) -> None:
        group = self.by_arn(region, account_id, arn)
        kept = tuple((key, value) for key, value in group.tags if key not in set(keys))
        await self._replace(replace(group, tags=kept, modified=now))

    async def _replace(self, group: GroupRecord) -> None:
        await self.store.put_group(group)
        self._of(group.region, group.account_id)[group.name] = group


def _check_tags(tags: list[tuple[str, str]]) -> None:
    if len(tags) > MAX_TAGS:
        raise SchedulerValidationException(f"A resource can have at most {MAX_TAGS} tags.")
