// A .cjs file is CommonJS even in a "type": "module" package.
exports.handler = async () => ({ loadedBy: 'cjs' });
