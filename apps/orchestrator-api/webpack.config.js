// pg: TypeORM's postgres driver, which TypeORM loads by name (no import of it in our sources).
module.exports = require('../../tools/webpack-app.cjs')(__dirname, { runtimeDependencies: ['pg'] });
