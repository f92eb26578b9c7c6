"""API Gateway's resources as stored: each API (HTTP or REST) is one record holding its
routes, integrations, stages and deployments (a deployment keeps the snapshot its stages
serve). Times are epoch seconds; the wire layer formats them per API."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# --- HTTP APIs (apigatewayv2) -----------------------------------------------------------------


@dataclass(slots=True)
class Cors:
    allow_credentials: bool | None = None
    allow_headers: list[str] = field(default_factory=list)
    allow_methods: list[str] = field(default_factory=list)
    allow_origins: list[str] = field(default_factory=list)
    expose_headers: list[str] = field(default_factory=list)
    max_age: int | None = None


@dataclass(slots=True)
class Route:
    route_id: str
    route_key: str
    target: str | None = None  # ``integrations/<id>``
    authorization_type: str = "NONE"
    api_key_required: bool = False
    operation_name: str | None = None
    managed: bool = False  # made by quick create
    authorizer_id: str | None = None  # with ``authorization_type`` CUSTOM

    @property
    def integration_id(self) -> str | None:
        if self.target and self.target.startswith("integrations/"):
            return self.target.removeprefix("integrations/")
        return None


@dataclass(slots=True)
class Integration:
    integration_id: str
    integration_type: str
    integration_uri: str | None
    payload_format_version: str
    integration_method: str | None = "POST"
    timeout_ms: int = 30000
    connection_type: str = "INTERNET"
    description: str | None = None
    managed: bool = False  # made by quick create


@dataclass(slots=True)
class Authorizer:
    """A Lambda (``REQUEST``) authorizer of an HTTP API."""

    authorizer_id: str
    name: str
    authorizer_uri: str
    payload_format_version: str
    identity_source: list[str] = field(default_factory=list)
    enable_simple_responses: bool = False
    result_ttl: int = 0
    authorizer_type: str = "REQUEST"


@dataclass(slots=True)
class HttpDeployment:
    deployment_id: str
    created: float
    auto_deployed: bool
    description: str | None = None
    routes: list[Route] = field(default_factory=list)
    integrations: list[Integration] = field(default_factory=list)
    authorizers: list[Authorizer] = field(default_factory=list)


@dataclass(slots=True)
class HttpStage:
    stage_name: str
    created: float
    updated: float
    auto_deploy: bool = False
    deployment_id: str | None = None
    description: str | None = None
    stage_variables: dict[str, str] = field(default_factory=dict)
    managed: bool = False  # made by quick create


@dataclass(slots=True)
class HttpApi:
    region: str
    account_id: str
    api_id: str
    name: str
    created: float
    protocol_type: str = "HTTP"
    description: str | None = None
    version: str | None = None
    route_selection_expression: str = "$request.method $request.path"
    api_key_selection_expression: str = "$request.header.x-api-key"
    disable_execute_api_endpoint: bool = False
    cors: Cors | None = None
    tags: dict[str, str] = field(default_factory=dict)
    # Created by quick create (``Target``): API Gateway may invoke its function.
    quick_created: bool = False
    routes: dict[str, Route] = field(default_factory=dict)
    integrations: dict[str, Integration] = field(default_factory=dict)
    stages: dict[str, HttpStage] = field(default_factory=dict)
    deployments: dict[str, HttpDeployment] = field(default_factory=dict)
    authorizers: dict[str, Authorizer] = field(default_factory=dict)

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> HttpApi:
        doc = dict(doc)
        doc["cors"] = Cors(**doc["cors"]) if doc.get("cors") else None
        doc["routes"] = {k: Route(**v) for k, v in doc["routes"].items()}
        doc["integrations"] = {k: Integration(**v) for k, v in doc["integrations"].items()}
        doc["stages"] = {k: HttpStage(**v) for k, v in doc["stages"].items()}
        doc["authorizers"] = {k: Authorizer(**v) for k, v in doc.get("authorizers", {}).items()}
        deployments = {}
        for key, value in doc["deployments"].items():
            value = dict(value)
            value["routes"] = [Route(**r) for r in value["routes"]]
            value["integrations"] = [Integration(**i) for i in value["integrations"]]
            value["authorizers"] = [Authorizer(**a) for a in value.get("authorizers", [])]
            deployments[key] = HttpDeployment(**value)
        doc["deployments"] = deployments
        return cls(**doc)


# --- REST APIs (apigateway) -------------------------------------------------------------------


@dataclass(slots=True)
class RestIntegration:
    type: str
    uri: str
    http_method: str = "POST"
    timeout_ms: int = 29000
    passthrough_behavior: str = "WHEN_NO_MATCH"


@dataclass(slots=True)
class RestMethod:
    http_method: str
    authorization_type: str = "NONE"
    api_key_required: bool = False
    operation_name: str | None = None
    request_parameters: dict[str, bool] = field(default_factory=dict)
    integration: RestIntegration | None = None
    authorizer_id: str | None = None  # with ``authorization_type`` CUSTOM


@dataclass(slots=True)
class RestResource:
    resource_id: str
    parent_id: str | None
    path_part: str | None
    path: str
    methods: dict[str, RestMethod] = field(default_factory=dict)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> RestResource:
        doc = dict(doc)
        methods = {}
        for verb, value in doc["methods"].items():
            value = dict(value)
            if value.get("integration"):
                value["integration"] = RestIntegration(**value["integration"])
            methods[verb] = RestMethod(**value)
        doc["methods"] = methods
        return cls(**doc)


@dataclass(slots=True)
class RestAuthorizer:
    """A Lambda authorizer of a REST API: ``TOKEN`` (one header) or ``REQUEST``."""

    authorizer_id: str
    name: str
    type: str
    authorizer_uri: str
    identity_source: str | None = None  # ``method.request.header.Auth, ...``
    identity_validation_expression: str | None = None
    result_ttl: int | None = None  # None: not set (300 s)
    auth_type: str | None = None


@dataclass(slots=True)
class RestDeployment:
    deployment_id: str
    created: float
    description: str | None = None
    resources: list[RestResource] = field(default_factory=list)
    authorizers: list[RestAuthorizer] = field(default_factory=list)


@dataclass(slots=True)
class RestStage:
    stage_name: str
    deployment_id: str
    created: float
    updated: float
    description: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    tracing_enabled: bool = False


@dataclass(slots=True)
class RestApi:
    region: str
    account_id: str
    api_id: str
    name: str
    created: float
    root_resource_id: str
    description: str | None = None
    version: str | None = None
    endpoint_types: list[str] = field(default_factory=lambda: ["EDGE"])
    api_key_source: str = "HEADER"
    disable_execute_api_endpoint: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    resources: dict[str, RestResource] = field(default_factory=dict)
    deployments: dict[str, RestDeployment] = field(default_factory=dict)
    stages: dict[str, RestStage] = field(default_factory=dict)
    authorizers: dict[str, RestAuthorizer] = field(default_factory=dict)

    def to_doc(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> RestApi:
        doc = dict(doc)
        doc["resources"] = {k: RestResource.from_doc(v) for k, v in doc["resources"].items()}
        deployments = {}
        for key, value in doc["deployments"].items():
            value = dict(value)
            value["resources"] = [RestResource.from_doc(r) for r in value["resources"]]
            value["authorizers"] = [RestAuthorizer(**a) for a in value.get("authorizers", [])]
            deployments[key] = RestDeployment(**value)
        doc["deployments"] = deployments
        doc["authorizers"] = {k: RestAuthorizer(**v) for k, v in doc.get("authorizers", {}).items()}
        doc["stages"] = {k: RestStage(**v) for k, v in doc["stages"].items()}
        return cls(**doc)
