#!/usr/bin/env node
// gen_notepack: writes msgpack_notepack.txt, msgpack vectors made and checked with notepack.io 3.
//
// Usage (from the repository root, after `npm install`):
//   node tests/vectors/redis/gen_notepack.js > tests/vectors/redis/msgpack_notepack.txt
//
// Every case is either a JS value (encoded with notepack.encode) or raw hex (hand-made wire forms:
// legacy notepack 2, float32, ext types...). Either way the expected tree is what notepack.decode
// gives, written in the JSON convention of msgpack_valid.txt, so rd_msgpack_to_json is checked
// against notepack itself. OUT is what encoding that tree gives: notepack.encode of the decoded
// value once Dates are their toJSON() text and undefined is gone, except that C reals are always
// float64 (notepack writes an integral JS number as an int; the only integral reals decoded from
// notepack's own output are uint64 values past INT64_MAX).
'use strict';

const { notepack, hex, INT64_MAX, expected, jsonish } = require('./vecjs');

// What rd_json_to_msgpack writes for the decoded value.
function cEncode(v, wireReal) {
  const real = (x) => {
    const b = Buffer.alloc(9);
    b[0] = 0xcb;
    b.writeDoubleBE(x, 1);
    return b;
  };
  if (typeof v === 'number' && isFinite(v) && (wireReal || (Number.isInteger(v) && BigInt(v) > INT64_MAX)))
    return real(v);
  return Buffer.from(notepack.encode(jsonish(v)));
}

const big = (n, f) => Array.from({ length: n }, (_, i) => f(i));
const obj = (n) => Object.fromEntries(big(n, (i) => ['k' + String(i).padStart(2, '0'), i]));

// [description, value] or [description, {hex}] or [description, {hex, real: true}]
const cases = [
  ['positive fixint 0', 0],
  ['positive fixint 127', 127],
  ['uint8 128 (captured cc 80)', 128],
  ['uint8 255', 255],
  ['uint16 256', 256],
  ['uint16 300 (captured)', 300],
  ['uint16 65535', 65535],
  ['uint32 65536', 65536],
  ['uint32 70000 (captured)', 70000],
  ['uint32 2^32-1', 2 ** 32 - 1],
  ['uint64 2^32', 2 ** 32],
  ['uint64 2^40 (captured)', 2 ** 40],
  ['uint64 2^53-1', 2 ** 53 - 1],
  ['uint64 2^63 becomes a real', 2 ** 63],
  ['negative fixint -1', -1],
  ['negative fixint -32', -32],
  ['int8 -33 (captured d0 df)', -33],
  ['int8 -128', -128],
  ['int16 -129', -129],
  ['int16 -32768', -32768],
  ['int32 -32769', -32769],
  ['int32 -2^31', -(2 ** 31)],
  ['int64 -2^31-1', -(2 ** 31) - 1],
  ['int64 -2^53+1', -(2 ** 53) + 1],
  ['int64 -2^63', -(2 ** 63)],
  ['-0 is the int 0', -0],
  ['float64 0.5', 0.5],
  ['float64 -0.25', -0.25],
  ['float64 1.1', 1.1],
  ['float64 -1e-300', -1e-300],
  ['float64 smallest subnormal', 5e-324],
  ['float64 NaN is null', NaN],
  ['float64 Infinity is null', Infinity],
  ['float64 -Infinity is null', -Infinity],
  ['float64 2.0 from another encoder stays a real', { hex: 'cb4000000000000000', real: true }],
  ['float64 -0.0', { hex: 'cb8000000000000000', real: true }],
  ['float32 1.5', { hex: 'ca3fc00000', real: true }],
  ['float32 2.0', { hex: 'ca40000000', real: true }],
  ['float32 0.1', { hex: 'ca3dcccccd', real: true }],
  ['float32 NaN is null', { hex: 'ca7fc00000' }],
  ['int8 form of 5 (d0)', { hex: 'd005' }],
  ['uint64 max', { hex: 'cfffffffffffffffff' }],
  ['int64 -1 in d3', { hex: 'd3ffffffffffffffff' }],
  ['nil', null],
  ['true', true],
  ['false', false],
  ['empty string', ''],
  ['string ü€', 'ü€'],
  ['string emoji', '😀'],
  ['string with NUL', 'a\u0000b'],
  ['fixstr 31', 'x'.repeat(31)],
  ['str8 32', 'x'.repeat(32)],
  ['str8 255', 'y'.repeat(255)],
  ['str16 256', 'z'.repeat(256)],
  ['str8 form of a short string', { hex: 'd90161' }],
  ['str16 form of a short string', { hex: 'da000161' }],
  ['str32 form of a short string', { hex: 'db0000000161' }],
  ['empty bin', Buffer.alloc(0)],
  ['bin8 de ad be ef', Buffer.from('deadbeef', 'hex')],
  ['bin8 255', Buffer.alloc(255, 7)],
  ['bin16 256', Buffer.alloc(256, 8)],
  ['bin16 form of 1 byte', { hex: 'c5000141' }],
  ['bin32 form of 1 byte', { hex: 'c60000000141' }],
  ['Uint16Array as bin', new Uint16Array([1, 2])],
  ['ArrayBuffer as bin', new Uint8Array([9, 8, 7]).buffer],
  ['empty array', []],
  ['fixarray 1', [1]],
  ['fixarray 15', big(15, (i) => i)],
  ['array16 16 (dc)', big(16, (i) => i)],
  ['array16 17 of strings', big(17, (i) => 's' + i)],
  ['array16 form of 1', { hex: 'dc000101' }],
  ['array32 form of 1', { hex: 'dd0000000101' }],
  ['null and undefined in an array are nil', [null, undefined, 1]],
  ['empty map', {}],
  ['fixmap 1', { a: 1 }],
  ['fixmap 15', obj(15)],
  ['map16 16 (de)', obj(16)],
  ['map16 20', obj(20)],
  ['map16 form of 1', { hex: 'de0001a16101' }],
  ['map32 form of 1', { hex: 'df00000001a16101' }],
  ['map key order kept', { z: 1, a: 2, m: 3 }],
  ['undefined map values left out', { a: undefined, b: 1 }],
  ['empty key', { '': 1 }],
  ['nested binary (E7)', { nested: Buffer.from('hi') }],
  ['deep nesting', { a: [{ b: [{ c: [1, [2, [3]]] }] }] }],
  ['E9-like arguments', ['e9', 1, -1, 128, 300, 70000, 2 ** 40, -33, 1.5, null, true, false, 'ü€', '', [], {}, new Date('2024-01-02T03:04:05.000Z')]],
  ['Date whole seconds (captured d6 ff 65 93 7d 25)', new Date('2024-01-02T03:04:05.000Z')],
  ['Date epoch', new Date(0)],
  ['Date with milliseconds (timestamp64)', new Date('2024-01-02T03:04:05.678Z')],
  ['Date 2^32 s (timestamp64)', new Date(2 ** 32 * 1000)],
  ['Date before 1970 (timestamp96)', new Date(-1)],
  ['Date year 1 (timestamp96)', new Date('0001-01-01T00:00:00.000Z')],
  ['Date year 0 (timestamp96)', new Date('0000-03-01T12:00:00.000Z')],
  ['Date year -1 (timestamp96)', new Date('-000001-06-15T00:00:00.001Z')],
  ['Date year 10000 (timestamp96)', new Date('+010000-01-01T00:00:00.000Z')],
  ['Date max (timestamp96)', new Date(8.64e15)],
  ['Date min (timestamp96)', new Date(-8.64e15)],
  ['timestamp32 max', { hex: 'd6ffffffffff' }],
  ['timestamp64 with nanoseconds 999999999', { hex: 'd7ffee6b27fc00000000' }],
  ['timestamp64 with 34-bit seconds', { hex: 'd7ff00000003ffffffff' }],
  ['timestamp96 past the Date range is null', { hex: 'c70cff000000000000080000000000' }],
  ['timestamp96 at the Date range limit', { hex: 'c70cff00000000000007dba8218000' }],
  ['timestamp96 with nanoseconds', { hex: 'c70cff3b9ac9ff000000000000003c' }],
  ['timestamp64 where ms rounds up as in JS', { hex: 'd7ffee6b27ffffffffff' }],
  ['legacy undefined d4 00 00', { hex: 'd40000' }],
  ['legacy undefined in an array', { hex: '92d4000001' }],
  ['legacy undefined map value is left out', { hex: '82a161d40000a16201' }],
  ['legacy Date d7 00 (captured from socket.io 2)', { hex: 'd7000000018cc820d888' }],
  ['legacy Date d7 00 negative', { hex: 'd700ffffffffffffffff' }],
  ['legacy Date d7 00 out of range is null', { hex: 'd7007fffffffffffffff' }],
  ['legacy ArrayBuffer ext8 type 0', { hex: 'c70300010203' }],
  ['legacy ArrayBuffer ext16 type 0', { hex: 'c800020004ff' }],
  ['legacy ArrayBuffer ext32 type 0', { hex: 'c9000000010042' }],
  ['legacy ArrayBuffer empty ext8', { hex: 'c70000' }],
  ['fixext2 type 0 is [0, bin]', { hex: 'd5000102' }],
  ['fixext4 type 0 is [0, bin]', { hex: 'd60001020304' }],
  ['fixext16 type 0 is [0, bin]', { hex: 'd800' + '11'.repeat(16) }],
  ['fixext1 type 5 is [5, bin]', { hex: 'd405ab' }],
  ['fixext8 type 127', { hex: 'd77f0102030405060708' }],
  ['ext8 type -128', { hex: 'c70280aabb' }],
  ['fixext1 type -1 is [-1, bin]', { hex: 'd4ff01' }],
  ['ext16 type -1 is [-1, bin]', { hex: 'c8000cff000000000000000065937d25' }],
  ['ext8 type 1 empty', { hex: 'c70001' }],
];

console.log(`# msgpack_notepack.txt: msgpack values checked against notepack.io 3 (generated: do not edit).
#
# Made by gen_notepack.js (same directory); regenerate with
#   node tests/vectors/redis/gen_notepack.js > tests/vectors/redis/msgpack_notepack.txt
# Format as msgpack_valid.txt: HEX JSON OUT [# comment]. HEX is notepack.encode(value), or hand-made
# bytes; JSON is notepack.decode(HEX) in the C tree convention; OUT is what rd_json_to_msgpack must
# write for that tree ("=" for HEX itself).
`);
for (const [desc, c] of cases) {
  let bytes;
  let wireReal = false;
  if (c && typeof c === 'object' && typeof c.hex === 'string' && Object.keys(c).every((k) => k === 'hex' || k === 'real')) {
    bytes = Buffer.from(c.hex, 'hex');
    wireReal = !!c.real;
  } else {
    bytes = Buffer.from(notepack.encode(c));
  }
  const decoded = notepack.decode(bytes);
  const exp = expected(decoded, wireReal);
  if (/\s/.test(exp)) throw new Error('whitespace in expected JSON for ' + desc);
  const out = hex(cEncode(decoded, wireReal));
  console.log(`${hex(bytes)} ${exp} ${out === hex(bytes) ? '=' : out} # ${desc}`);
}
