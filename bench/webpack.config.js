/**
 * The bench's build: dist/bench/run.js (the driver, `npm run bench`) and, beside it, every
 * script the driver runs as a process of its own (load generator, client fleets, baselines,
 * the feeder's ack probe), so that each resolves the others from its own directory.
 * Node modules stay external (loaded from the workspace's node_modules); @md/* libs are bundled.
 */
const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const { join } = require('path');

const CHILDREN = {
  loadgen: './src/lib/loadgen.ts',
  'sse-fleet': './src/lib/sse-fleet.ts',
  watchers: './src/lib/watchers.ts',
  'socketio-fleet': './src/baselines/socketio-fleet.ts',
  'socketio-server': './src/baselines/socketio-server.ts',
  'socketio-source': './src/baselines/socketio-source.ts',
  'raw-ingest': './src/baselines/raw-ingest.ts',
  'ack-probe': './src/probes/ack-probe.ts',
};

module.exports = {
  // The entries are the plugin's (main and additionalEntryPoints): no webpack default (./src).
  entry: {},
  output: { path: join(__dirname, '../dist/bench'), clean: true, devtoolModuleFilenameTemplate: '[absolute-resource-path]' },
  plugins: [
    new NxAppWebpackPlugin({
      target: 'node',
      compiler: 'tsc',
      main: './src/run.ts',
      outputFileName: 'run.js',
      additionalEntryPoints: Object.entries(CHILDREN).map(([entryName, entryPath]) => ({ entryName, entryPath })),
      tsConfig: './tsconfig.app.json',
      optimization: false,
      outputHashing: 'none',
      generatePackageJson: false,
      sourceMap: true,
    }),
  ],
};
