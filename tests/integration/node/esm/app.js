// An ES module in a "type": "module" package, with top-level await during init.
const config = await new Promise((resolve) => setTimeout(() => resolve({ loadedBy: 'esm' }), 5));

export const handler = async (event) => ({ ...config, event });
