"""Every API in memory, HTTP and REST alike, by id (ids are unique across both kinds,
regions and accounts: an endpoint names its API by id alone)."""

from __future__ import annotations

from lamina.services.apigateway.ids import new_id
from lamina.services.apigateway.ports import StoredApis
from lamina.services.apigateway.records import HttpApi, RestApi


class ApiRegistry:
    def __init__(self, stored: StoredApis | None = None) -> None:
        self._http: dict[str, HttpApi] = {}
        self._rest: dict[str, RestApi] = {}
        if stored is not None:
            for api in stored.http:
                self._http[api.api_id] = api
            for rest in stored.rest:
                self._rest[rest.api_id] = rest

    def new_api_id(self) -> str:
        while True:
            api_id = new_id(10)
            if api_id not in self._http and api_id not in self._rest:
                return api_id

    def http(self, api_id: str) -> HttpApi | None:
        return self._http.get(api_id)

    def rest(self, api_id: str) -> RestApi | None:
        return self._rest.get(api_id)

    def http_in(self, region: str, account: str) -> list[HttpApi]:
        return [a for a in self._http.values() if a.region == region and a.account_id == account]

    def rest_in(self, region: str, account: str) -> list[RestApi]:
        return [a for a in self._rest.values() if a.region == region and a.account_id == account]

    def add_http(self, api: HttpApi) -> None:
        self._http[api.api_id] = api

    def add_rest(self, api: RestApi) -> None:
        self._rest[api.api_id] = api

    def remove(self, api_id: str) -> None:
        self._http.pop(api_id, None)
        self._rest.pop(api_id, None)
