"""Returns the proxy event it got (tests of the local API Gateway)."""

import base64
import json

WHO = "echo"


def lambda_handler(event, context):
    if event["resource"] == "/files/{proxy+}" and event["pathParameters"]["proxy"].endswith(".bin"):
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/octet-stream"},
            "body": base64.b64encode(bytes(range(256))).decode(),
            "isBase64Encoded": True,
        }
    body = {
        "who": WHO,
        "event": event,
        "context": {"functionName": context.function_name, "remainingMs": context.get_remaining_time_in_millis()},
    }
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "X-Single": "one"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": json.dumps(body),
    }
