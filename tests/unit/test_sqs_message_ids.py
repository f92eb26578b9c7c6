"""Message ids: what ``str(uuid.uuid4())`` writes (canonical lowercase, version 4, RFC 4122
variant), drawn at random for every message."""

from __future__ import annotations

import uuid

from lamina.services.sqs.messages import new_message_id


def test_message_ids_are_canonical_version_4_uuids() -> None:
    ids = {new_message_id() for _ in range(2000)}
    assert len(ids) == 2000
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
