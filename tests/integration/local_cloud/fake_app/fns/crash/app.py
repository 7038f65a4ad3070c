"""Fails in the ways a Lambda proxy integration can (tests of the local API Gateway): a bad answer, an error, an
exit of the runtime process."""

WHO = "crash"


def lambda_handler(event, context):
    if event["path"] == "/malformed":
        return "not a proxy response"
    if event["path"] == "/exit":
        raise SystemExit(7)
    raise ValueError("handler bug")
