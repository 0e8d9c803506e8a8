// Instance concurrency check: each invocation waits until `parties` invocations (the event's)
// are in flight at once, then all answer {met: true}; alone, each gives up after 10 s.
const waiting = [];

export const handler = async (event, context) => {
  const parties = Number(event?.parties ?? 1);
  const met = await new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), 10000);
    waiting.push(() => {
      clearTimeout(timer);
      resolve(true);
    });
    if (waiting.length >= parties) waiting.splice(0).forEach((wake) => wake());
  });
  console.log(`invocation ${context.awsRequestId} met=${met}`);
  return { met, request_id: context.awsRequestId };
};
