const assert = require('node:assert');
const { parseCount } = require('./widgets');

assert.strictEqual(parseCount('3'), 3);
assert.strictEqual(parseCount(''), 0);
console.log('ok');
