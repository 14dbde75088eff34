/** Injection token of the shared command connection (with every script of @md/pipeline's registry defined). */
export const REDIS = Symbol('REDIS');
