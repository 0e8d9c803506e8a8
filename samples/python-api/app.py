"""python-api: a small HTTP API behind API Gateway (HTTP API, payload format 2.0), as an unchanged
AWS-style handler. Routes:

    GET    /items          list the items
    POST   /items          create one from a JSON body {"name": ...}      -> 201
    GET    /items/{id}     one item                                        -> 200 or 404
    DELETE /items/{id}     delete it                                       -> 204 or 404

Anything else is 404 (unknown path) or 405 (known path, other method); a body that is not a JSON
object with a non-empty "name" is 400. The items live in module state: they survive between
invocations of one warm execution environment, as a cache would (not a database).
"""

import base64
import json

items: dict[str, dict] = {}
next_id = 1


def response(status: int, body=None, headers=None) -> dict:
    """An API Gateway v2 response: JSON body (when there is one) and its content type."""
    out = {"statusCode": status, "headers": {"content-type": "application/json", **(headers or {})}}
    if body is not None:
        out["body"] = json.dumps(body)
    return out


def error(status: int, message: str) -> dict:
    return response(status, {"error": message})


def parse_body(event: dict):
    raw = event.get("body")
    if raw is None:
        return None
    if event.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode("utf-8")
    try:
        return json.loads(raw)
    except ValueError:
        return None


def list_items(event, item_id=None):
    return response(200, {"items": list(items.values())})


def create_item(event, item_id=None):
    global next_id
    body = parse_body(event)
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
        return error(400, 'expected a JSON object with a non-empty "name"')
    item = {"id": str(next_id), "name": body["name"]}
    next_id += 1
    items[item["id"]] = item
    return response(201, item, {"location": f"/items/{item['id']}"})


def get_item(event, item_id):
    item = items.get(item_id)
    return response(200, item) if item else error(404, f"no item {item_id}")


def delete_item(event, item_id):
    if items.pop(item_id, None) is None:
        return error(404, f"no item {item_id}")
    return {"statusCode": 204}


ROUTES = {
    ("items",): {"GET": list_items, "POST": create_item},
    ("items", "{id}"): {"GET": get_item, "DELETE": delete_item},
}


def handler(event, context):
    http = event.get("requestContext", {}).get("http", {})
    method = http.get("method", "GET").upper()
    parts = tuple(p for p in (event.get("rawPath") or http.get("path") or "/").split("/") if p)
    item_id = None
    if len(parts) == 2 and parts[0] == "items":
        item_id, parts = parts[1], ("items", "{id}")
    methods = ROUTES.get(parts)
    if methods is None:
        return error(404, "not found")
    route = methods.get(method)
    if route is None:
        return response(405, {"error": "method not allowed"}, {"allow": ", ".join(sorted(methods))})
    return route(event, item_id)
