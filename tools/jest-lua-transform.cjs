/**
 * Jest transform of `.lua` files: a module whose default export is the file's text, as webpack's
 * `asset/source` rule gives the built apps (tools/webpack-app.cjs), so the script registry
 * (libs/pipeline) loads the same text under test as in production.
 */
module.exports = {
  process(sourceText) {
    return { code: `module.exports = { __esModule: true, default: ${JSON.stringify(sourceText)} };` };
  },
};
