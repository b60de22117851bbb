"""Secrets: the daemon reads secret values for secret mounts and secret env vars.

Values come only from the mapping the engine passes in; they never enter
the LLB definition, which names secrets by id.
"""

from __future__ import annotations

import logging
from typing import Mapping

import grpc

from archon.engine.buildkit.pb import secrets_pb2

log = logging.getLogger(__name__)

SERVICE = "moby.buildkit.secrets.v1.Secrets"


class SecretsService:
    """Serves `values` (secret id to value); an unknown id is NOT_FOUND."""

    def __init__(self, values: Mapping[str, str | bytes]):
        self._values = {key: value.encode() if isinstance(value, str) else bytes(value) for key, value in values.items()}
        self.requested: list[str] = []

    def methods(self) -> list[str]:
        return [f"/{SERVICE}/GetSecret"]

    def handler(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "GetSecret": grpc.unary_unary_rpc_method_handler(
                    self.get_secret,
                    request_deserializer=secrets_pb2.GetSecretRequest.FromString,
                    response_serializer=secrets_pb2.GetSecretResponse.SerializeToString,
                ),
            },
        )

    def get_secret(self, request: secrets_pb2.GetSecretRequest, context: grpc.ServicerContext) -> secrets_pb2.GetSecretResponse:
        self.requested.append(request.ID)
        value = self._values.get(request.ID)
        if value is None:
            # BuildKit treats NOT_FOUND as "no such secret", which an
            # optional secret mount tolerates.
            log.info("secret %r requested by the daemon but not provided", request.ID)
            context.abort(grpc.StatusCode.NOT_FOUND, f"secret {request.ID!r} not found: provide it when starting the run")
        return secrets_pb2.GetSecretResponse(data=value)
