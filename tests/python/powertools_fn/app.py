"""A handler written for the AWS runtime with AWS Lambda Powertools, unchanged: a Logger with
inject_lambda_context and the APIGatewayHttpResolver event handler."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

logger = Logger(service="lamella-powertools")
app = APIGatewayHttpResolver()


@app.get("/hello/<name>")
def hello(name: str):
    logger.info("greeting", extra={"who": name})
    return {"message": f"Hello, {name}!"}


@app.post("/echo")
def echo():
    return {"echo": app.current_event.json_body}


@logger.inject_lambda_context
def handler(event, context):
    return app.resolve(event, context)
