import baseConfig from '../../eslint.config.mjs';

// Test code: may use @md/testing everywhere.
export default [...baseConfig, { rules: { 'no-restricted-imports': 'off' } }];
