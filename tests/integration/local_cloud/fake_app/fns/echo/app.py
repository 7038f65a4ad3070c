"""Returns the proxy event it got (tests of the local API Gateway)."""

import base64
import gc
import json
import os
import time
from pathlib import Path

WHO = "echo"


def lambda_handler(event, context):
    if event["resource"] == "/files/{proxy+}" and event["pathParameters"]["proxy"].startswith("rendezvous/"):
        return _rendezvous(Path(event["queryStringParameters"]["dir"]), int(event["queryStringParameters"]["n"]))
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


def _rendezvous(folder, count):
    """Wait (10 s at most) until `count` invocations are inside this handler at once; answer their pids."""
    (folder / str(os.getpid())).write_text(os.environ.get("FAKE_STAGE", ""))
    deadline = time.monotonic() + 10
    while len(list(folder.iterdir())) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    seen = sorted(int(p.name) for p in folder.iterdir())
    return {
        "statusCode": 200,
        "body": json.dumps(
            {"pid": os.getpid(), "seen": seen, "stage": os.environ["FAKE_STAGE"], "frozen": gc.get_freeze_count()}
        ),
    }
