// vecjs: helpers shared by gen_notepack.js and capture.js: the C tree convention of the vectors.
'use strict';
const path = require('path');
const notepack = require(path.join(__dirname, '../../../node_modules/notepack.io'));

const hex = (b) => Buffer.from(b).toString('hex');
const INT64_MAX = 9223372036854775807n;

// A JSON string literal without raw spaces, so that it stays one field of a vector line.
const str = (s) => JSON.stringify(s).replace(/ /g, '\\u0020');

// The expected tree for a value notepack.decode gave, as compact JSON with {"$bin":HEX} for binary:
// integral numbers are integers (reals when wireReal, or past INT64_MAX), Dates their toJSON()
// text, NaN/Infinity null, undefined null in arrays and left out of maps.
function expected(v, wireReal) {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') {
    if (!isFinite(v)) return 'null';
    if (Number.isInteger(v) && !wireReal && BigInt(v) <= INT64_MAX) return BigInt(v).toString();
    let s = String(v);
    if (!/[.e]/.test(s)) s += '.0';
    return s;
  }
  if (typeof v === 'string') return str(v);
  if (v instanceof Date) return JSON.stringify(v);
  if (Buffer.isBuffer(v)) return '{"$bin":"' + hex(v) + '"}';
  if (v instanceof ArrayBuffer) return '{"$bin":"' + hex(Buffer.from(v)) + '"}';
  if (Array.isArray(v)) return '[' + v.map((x) => expected(x, wireReal)).join(',') + ']';
  const parts = [];
  for (const k of Object.keys(v)) {
    if (v[k] === undefined) continue;
    parts.push(str(k) + ':' + expected(v[k], wireReal));
  }
  return '{' + parts.join(',') + '}';
}

// The decoded value as the C tree holds it, ready for notepack.encode.
function jsonish(v) {
  if (v instanceof Date) return v.toJSON();
  if (typeof v === 'number' && !isFinite(v)) return null;
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (Buffer.isBuffer(v)) return v;
  if (Array.isArray(v)) return v.map((x) => (x === undefined ? null : jsonish(x)));
  if (v && typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v)) if (v[k] !== undefined) o[k] = jsonish(v[k]);
    return o;
  }
  return v === undefined ? null : v;
}

module.exports = { notepack, hex, INT64_MAX, str, expected, jsonish };
