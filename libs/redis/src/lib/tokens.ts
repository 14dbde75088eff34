/** Injection token of the shared command connection (with the md* scripts defined). */
export const REDIS = Symbol('REDIS');
