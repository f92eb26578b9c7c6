"""API Gateway's store: ``<data_dir>/apigateway.sqlite3``, every region's HTTP and REST APIs
(keyed by region and account; API ids are unique across them). Each API is one JSON
document written by a group-commit writer: a write returns after its commit (WAL,
``synchronous=NORMAL``: an acknowledged change survives a SIGKILL of the server)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from lamina.services.apigateway.ports import ApiStore, StoredApis
from lamina.services.apigateway.records import HttpApi, RestApi
from lamina.store.group_commit import GroupCommitWriter
from lamina.store.migrations import migrate

STEPS = [
    """
    CREATE TABLE apigateway_apis (
        api_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        region TEXT NOT NULL,
        account_id TEXT NOT NULL,
        doc TEXT NOT NULL
    );
    """,
]

HTTP_KIND = "http"
REST_KIND = "rest"


class SqliteApiStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        migrate(self._conn, "apigateway", STEPS)
        self._writer = GroupCommitWriter(self._conn, "lamina-apigateway-writer")
        self._writer.start()
        self._closed = False

    def load(self) -> StoredApis:
        http: list[HttpApi] = []
        rest: list[RestApi] = []
        for kind, doc in self._conn.execute("SELECT kind, doc FROM apigateway_apis"):
            if kind == HTTP_KIND:
                http.append(HttpApi.from_doc(json.loads(doc)))
            elif kind == REST_KIND:
                rest.append(RestApi.from_doc(json.loads(doc)))
        return StoredApis(http, rest)

    async def put_http(self, api: HttpApi) -> None:
        await self._put(HTTP_KIND, api.api_id, api.region, api.account_id, api.to_doc())

    async def put_rest(self, api: RestApi) -> None:
        await self._put(REST_KIND, api.api_id, api.region, api.account_id, api.to_doc())

    async def _put(
        self, kind: str, api_id: str, region: str, account: str, doc: dict[str, object]
    ) -> None:
        text = json.dumps(doc, separators=(",", ":"))

        def put(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO apigateway_apis (api_id, kind, region, account_id, doc)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (api_id) DO UPDATE SET doc = excluded.doc",
                (api_id, kind, region, account, text),
            )

        await self._writer.run_op(put)

    async def delete(self, api_id: str) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM apigateway_apis WHERE api_id = ?", (api_id,))

        await self._writer.run_op(delete)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._writer.stop()
            self._conn.close()


_PORT: type[ApiStore] = SqliteApiStore
