// The Node.js conformance handler: one action per case of tests/conformance/cases.json.
class InvalidInput extends Error {}
InvalidInput.prototype.name = 'InvalidInput';

export const handler = async (event, context) => {
  if (event.rawPath !== undefined) {
    // An API Gateway HTTP event (an HTTP trigger): answered as an HTTP response.
    return {
      statusCode: 201,
      headers: {
        'content-type': 'text/plain',
        'x-conformance-method': event.requestContext.http.method,
      },
      body: `${event.rawPath}?${event.rawQueryString}`,
    };
  }
  switch (event.action) {
    case 'echo':
      return event.value;
    case 'greet':
      return { message: `Hello, ${event.name}!` };
    case 'null':
      return null;
    case 'request_id':
      return { request_id: context.awsRequestId };
    case 'remaining':
      return { positive: context.getRemainingTimeInMillis() > 0 };
    case 'repeat':
      return event.char.repeat(event.count);
    case 'error':
      throw new InvalidInput(event.message);
    case 'log':
      console.log(event.line);
      return { logged: true };
    default:
      throw new InvalidInput(`unknown action ${event.action}`);
  }
};
