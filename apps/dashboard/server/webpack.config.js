// dist/apps/dashboard-server/main.js, beside the Vite build it serves (dist/apps/dashboard).
module.exports = require('../../../tools/webpack-app.cjs')(__dirname, { name: 'dashboard-server' });
