// Lifecycle hooks from an ES module: bare names in `import` do not reach lamella's runtime, so
// the module takes the API through createRequire (docs/node.md).
import { createRequire } from 'node:module';

const { onShutdown } = createRequire(import.meta.url)('lamella');

onShutdown(async () => {
  await new Promise((resolve) => setTimeout(resolve, 20));
  process.stdout.write('esm shutdown hook\n');
});

export const handler = async () => ({ ok: true });
