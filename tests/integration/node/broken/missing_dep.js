// Requires a package that is not installed: Runtime.ImportModuleError.
require('lamella-no-such-dependency');
exports.handler = async () => 'unreachable';
