/**
 * The webpack build of one Nest app (Nx's app plugin, tsc so decorator metadata is emitted):
 * dist/apps/<app>/main.js plus a generated package.json of its production dependencies.
 *
 * Nx writes into that package.json the packages the app's sources import. Modules that are
 * only loaded at run time by another package, or by the emitted code, are invisible to it, and
 * an image that installs exactly that package.json would lack them: list them here.
 *   - tslib: tsc's helpers (importHelpers); the bundle requires it.
 *   - per app (`runtimeDependencies` below), e.g. pg for the api: TypeORM loads its driver by name.
 */
const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const { basename, join } = require('path');

const ALWAYS = ['tslib'];

module.exports = function webpackApp(appDir, { runtimeDependencies = [], name = basename(appDir) } = {}) {
  return {
    output: {
      path: join(__dirname, '../dist/apps', name),
      clean: true,
      ...(process.env.NODE_ENV !== 'production' && {
        devtoolModuleFilenameTemplate: '[absolute-resource-path]',
      }),
    },
    // Lua scripts are imported as their text (libs/pipeline's script registry).
    module: { rules: [{ test: /\.lua$/, type: 'asset/source' }] },
    plugins: [
      new NxAppWebpackPlugin({
        target: 'node',
        compiler: 'tsc',
        main: './src/main.ts',
        tsConfig: './tsconfig.app.json',
        optimization: false,
        outputHashing: 'none',
        generatePackageJson: true,
        runtimeDependencies: [...ALWAYS, ...runtimeDependencies],
        sourceMap: true,
      }),
    ],
  };
};
