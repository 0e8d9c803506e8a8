// node-hello: an unchanged AWS-style Node.js handler (ES module) with warm state.
//
// Run it:  lamella invoke samples/node-hello --handler index.handler --event '{"name":"x"}'

// Module-level code runs once per execution environment (the cold start), not per invocation.
let invocations = 0;

/** Greets `event.name` and counts the invocations this warm process has served. */
export const handler = async (event, context) => {
  invocations += 1;
  const name = event !== null && typeof event === "object" && event.name ? event.name : "world";
  return { message: `Hello, ${name}!`, count: invocations, request_id: context.awsRequestId };
};
