"""Every sample event reaches a real route of the Lambda the template gives it (none falls to route_not_found)."""

from __future__ import annotations

from api_handlers import EVENTS, body_of, invoke, load_event
from api_integration_kit import create_project, function_of

from perceo import wiring


def test_every_sample_event_is_served_by_its_function(api: wiring.Services, workflows: None) -> None:
    caller = create_project("Routing")
    for path in sorted((EVENTS / "api").rglob("*.json")):
        sample = str(path.relative_to(EVENTS))
        event = load_event(sample)
        if event["requestContext"].get("authorizer"):
            event["requestContext"]["authorizer"] = {**caller.context, "principalId": caller.context["keyId"]}
        response = invoke(function_of(sample.split("/")[1]), event)
        body = body_of(response) if response["statusCode"] != 204 else None
        code = body.get("error", {}).get("code") if isinstance(body, dict) else None
        assert code != "route_not_found", sample
        assert response["statusCode"] < 500, (sample, response["body"])
