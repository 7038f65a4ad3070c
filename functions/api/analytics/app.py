"""Lambda: analytics: `POST /analytics/events|beacon|sync|correlate|connect`, `GET /analytics/metrics|traffic|gaps`."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from perceo.api.errors import register_error_handlers
from perceo.api.observability import instrument_logger, lambda_tracer
from perceo.api.routers import analytics
from perceo.api.serve import serve

logger = instrument_logger(Logger())
tracer = lambda_tracer(os.environ)
metrics = Metrics()

app = APIGatewayRestResolver(enable_validation=True)
app.include_router(analytics.router)
register_error_handlers(app)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return serve(app, event, context, metrics=metrics, text_routes=analytics.TEXT_ROUTES)
