import baseConfig from '../eslint.config.mjs';

// Test tooling, as libs/testing: may use @md/testing everywhere.
export default [...baseConfig, { rules: { 'no-restricted-imports': 'off' } }];
