"""Health: responds to the daemon's periodic health checks of the session."""

from __future__ import annotations

import grpc

from archon.engine.buildkit.pb import health_pb2

SERVICE = "grpc.health.v1.Health"


class HealthService:
    def methods(self) -> list[str]:
        return [f"/{SERVICE}/Check"]

    def handler(self) -> grpc.GenericRpcHandler:
        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "Check": grpc.unary_unary_rpc_method_handler(
                    self.check,
                    request_deserializer=health_pb2.HealthCheckRequest.FromString,
                    response_serializer=health_pb2.HealthCheckResponse.SerializeToString,
                ),
            },
        )

    def check(self, request: health_pb2.HealthCheckRequest, context: grpc.ServicerContext) -> health_pb2.HealthCheckResponse:
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)
