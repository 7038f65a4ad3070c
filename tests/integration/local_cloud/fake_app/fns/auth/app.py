"""A REQUEST authorizer whose answer depends on the bearer token (tests of the local API Gateway)."""

CALLS = []


def lambda_handler(event, context):
    CALLS.append(event)
    token = event["headers"].get("Authorization", "").removeprefix("Bearer ")
    arn, _, rest = event["methodArn"].partition("/")
    stage = rest.split("/")[0]
    if token == "allow":
        return _policy("Allow", f"{arn}/{stage}/*", {"projectId": "p1", "count": 3, "admin": True})
    if token == "deny":
        return _policy("Deny", f"{arn}/{stage}/*", {})
    if token == "narrow":
        return _policy("Allow", f"{arn}/{stage}/GET/items/*", {"projectId": "p2"})
    if token == "nested-context":
        return _policy("Allow", f"{arn}/{stage}/*", {"nested": {"no": "objects"}})
    if token == "nonsense":
        return {"hello": "world"}
    if token == "crash":
        raise RuntimeError("authorizer bug")
    raise Exception("Unauthorized")


def _policy(effect, resource, context):
    return {
        "principalId": "user-1",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
        "context": context,
    }
