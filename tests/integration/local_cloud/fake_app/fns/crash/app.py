"""Fails in the two ways a Lambda proxy integration can (tests of the local API Gateway)."""

WHO = "crash"


def lambda_handler(event, context):
    if event["path"] == "/malformed":
        return "not a proxy response"
    raise ValueError("handler bug")
