"""Which route a request takes: resource matching as API Gateway does it, and the method ARN it is authorized for."""

from __future__ import annotations

from perceo_cli.local.apigw.definition import RestApi, Route


def match_route(api: RestApi, path_segments: list[str]) -> tuple[str, dict[str, str]] | None:
    """The best resource for the path and its path parameters: literal segments beat {param} beat {proxy+}."""
    best: tuple[tuple[int, ...], str, dict[str, str]] | None = None
    for resource in {r.resource for r in api.routes}:
        segments = [s for s in resource.split("/") if s]
        params: dict[str, str] = {}
        rank: list[int] = []
        matched = True
        for i, segment in enumerate(segments):
            if segment.startswith("{") and segment.endswith("+}"):
                if i >= len(path_segments):
                    matched = False
                    break
                params[segment[1:-2]] = "/".join(path_segments[i:])
                rank.append(0)
                break
            if i >= len(path_segments):
                matched = False
                break
            if segment.startswith("{") and segment.endswith("}"):
                params[segment[1:-1]] = path_segments[i]
                rank.append(1)
            elif segment == path_segments[i]:
                rank.append(2)
            else:
                matched = False
                break
        else:
            matched = matched and len(segments) == len(path_segments)
        if matched and (best is None or tuple(rank) > best[0]):
            best = (tuple(rank), "/" + "/".join(segments), params)
    return None if best is None else (best[1], best[2])


def route_for(api: RestApi, resource: str, method: str) -> Route | None:
    """The route of `method` on `resource`; an `ANY` route when there is no route of that method."""
    candidates = [r for r in api.routes if r.resource == resource and r.method in (method, "ANY")]
    candidates.sort(key=lambda r: r.method == "ANY")
    return candidates[0] if candidates else None


def method_arn(api: RestApi, method: str, path: str) -> str:
    """`arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>`, what authorizer policies name."""
    return f"arn:aws:execute-api:{api.region}:{api.account_id}:{api.api_id}/{api.stage}/{method}{path}"
