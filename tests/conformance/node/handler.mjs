// The Node.js conformance handler: one action per case of tests/conformance/cases.json.
class InvalidInput extends Error {}
InvalidInput.prototype.name = 'InvalidInput';

export const handler = async (event, context) => {
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
