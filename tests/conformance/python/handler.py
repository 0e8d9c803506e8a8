"""The Python conformance handler: one action per case of tests/conformance/cases.json."""


class InvalidInput(Exception):
    pass


def handler(event, context):
    if "rawPath" in event:
        # An API Gateway HTTP event (an HTTP trigger): answered as an HTTP response.
        return {"statusCode": 201,
                "headers": {"content-type": "text/plain",
                            "x-conformance-method": event["requestContext"]["http"]["method"]},
                "body": event["rawPath"] + "?" + event["rawQueryString"]}
    action = event["action"]
    if action == "echo":
        return event["value"]
    if action == "greet":
        return {"message": f"Hello, {event['name']}!"}
    if action == "null":
        return None
    if action == "request_id":
        return {"request_id": context.aws_request_id}
    if action == "remaining":
        return {"positive": context.get_remaining_time_in_millis() > 0}
    if action == "repeat":
        return event["char"] * event["count"]
    if action == "error":
        raise InvalidInput(event["message"])
    if action == "log":
        print(event["line"])
        return {"logged": True}
    raise InvalidInput(f"unknown action {action}")
