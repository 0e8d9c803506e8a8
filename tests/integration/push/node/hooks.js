// Lifecycle hooks from Node (CommonJS, `require('lamella')`): each hook writes a marker line to
// stdout (process.stdout.write: console.log adds the runtime's log prefix). The second shutdown
// hook is async and finishes after a timer, so it shows that the server waits for its promise.
// HOOK_FAILS=1 makes it reject; SIGTERM_LISTENER=1 adds a process.on('SIGTERM') listener that
// exits, as AWS's graceful-shutdown samples do.
const lamella = require('lamella');

const mark = (text) => process.stdout.write(`${text}\n`);
const later = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

lamella.onShutdown(() => mark('shutdown hook 1'));
lamella.onShutdown(async () => {
  await later(100);
  if (process.env.HOOK_FAILS === '1') throw new Error('hook-broke');
  mark('shutdown hook 2 (async)');
});
lamella.onPreFreeze(async () => {
  await later(50);
  mark('pre-freeze hook');
});

if (process.env.SIGTERM_LISTENER === '1') {
  process.on('SIGTERM', async () => {
    await later(50);
    mark('sigterm listener');
    process.exit(0);
  });
}

exports.handler = async (event, context) => {
  mark(`handling ${context.awsRequestId}`);
  return { ok: true };
};
