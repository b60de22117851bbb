"""Auth: registry credentials for image pulls and pushes.

The daemon requests credentials per registry host. Hosts without an entry
get empty credentials, which means anonymous access; that is what local
test registries on 127.0.0.1 need. Archon has no token-signing key, so
GetTokenAuthority returns an empty key and the daemon fetches registry
tokens itself with the credentials.
"""

from __future__ import annotations

import logging
from typing import Mapping

import grpc

from archon.engine.buildkit.pb import auth_pb2

log = logging.getLogger(__name__)

SERVICE = "moby.filesync.v1.Auth"


class AuthService:
    """Serves `credentials`: registry host to (username, secret)."""

    def __init__(self, credentials: Mapping[str, tuple[str, str]] | None = None):
        self._credentials = dict(credentials or {})

    def methods(self) -> list[str]:
        return [f"/{SERVICE}/Credentials", f"/{SERVICE}/GetTokenAuthority"]

    def handler(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "Credentials": grpc.unary_unary_rpc_method_handler(
                    self.credentials,
                    request_deserializer=auth_pb2.CredentialsRequest.FromString,
                    response_serializer=auth_pb2.CredentialsResponse.SerializeToString,
                ),
                "GetTokenAuthority": grpc.unary_unary_rpc_method_handler(
                    self.get_token_authority,
                    request_deserializer=auth_pb2.GetTokenAuthorityRequest.FromString,
                    response_serializer=auth_pb2.GetTokenAuthorityResponse.SerializeToString,
                ),
            },
        )

    def credentials(self, request: auth_pb2.CredentialsRequest, context: grpc.ServicerContext) -> auth_pb2.CredentialsResponse:
        found = self._credentials.get(request.Host)
        if found is None:
            log.debug("no registry credentials for %s; the daemon uses anonymous access", request.Host)
            return auth_pb2.CredentialsResponse()
        username, secret = found
        return auth_pb2.CredentialsResponse(Username=username, Secret=secret)

    def get_token_authority(self, request, context: grpc.ServicerContext) -> auth_pb2.GetTokenAuthorityResponse:
        return auth_pb2.GetTokenAuthorityResponse()
