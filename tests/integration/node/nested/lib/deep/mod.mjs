// A handler in a nested directory, named "lib/deep/mod.handler".
export const handler = async () => ({ where: 'lib/deep/mod.mjs' });
