// The lamella-node package for ES modules: the same objects as lib/index.js.
import lamella from './index.js';

export const { onShutdown, onPreFreeze, main, Runtime } = lamella;
export default lamella;
