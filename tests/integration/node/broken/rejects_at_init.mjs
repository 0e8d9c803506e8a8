// Top-level await that rejects during init.
await Promise.reject(new Error('async init failed'));
export const handler = async () => 'unreachable';
