#!/usr/bin/env node
// gen_cases: writes the hand-curated vector files of this directory (broadcast_valid.txt,
// broadcast_invalid.txt, request_valid.txt, request_invalid.txt, msgpack_valid.txt,
// msgpack_invalid.txt) from the case lists below.
//
// Usage (from the repository root, after `npm install`):
//   node tests/vectors/redis/gen_cases.js [DIR]
//
// The "golden" cases are hex captured from Node's redis-emitter and redis-adapter, copied verbatim
// (their labels keep the numbers of the notes they were first written down in); the other cases
// are built with notepack.io 3 (or python msgpack 1.0, pasted as hex) so that the bytes are what a
// real sender writes. The expected trees come from notepack.decode, the oracle the C decoder must
// agree with.
'use strict';
const fs = require('fs');
const path = require('path');
const { notepack, hex, str, expected, jsonish } = require('./vecjs');

const H = (s) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const enc = (v) => Buffer.from(notepack.encode(v));
const esc = (s) => s.replace(/\\/g, '\\\\').replace(/ /g, '\\s');

// ---- broadcasts ---------------------------------------------------------------------------------

function broadcastExpected(buf) {
  const [uid, packet, opts] = notepack.decode(buf);
  const flags = opts.flags || {};
  const list = (x) => '[' + [...new Set(x || [])].map(str).join(',') + ']';
  const truthy = (v) => !!v;
  return `{"uid":${typeof uid === 'string' ? JSON.stringify(uid) : 'null'},` +
    `"nsp":${JSON.stringify(packet.nsp === undefined ? '/' : packet.nsp)},` +
    `"data":${expected(packet.data)},"rooms":${list(opts.rooms)},"except":${list(opts.except)},` +
    `"volatile":${truthy(flags.volatile)},` +
    `"compress":${'compress' in flags && flags.compress !== undefined ? truthy(flags.compress) : null}}`;
}

// OUT: re-encoding in the given key order gives the input ("emitter"/"adapter"), or ORDER:HEX.
function broadcastOut(buf, order) {
  const [uid, packet, opts] = notepack.decode(buf);
  const f = opts.flags || {};
  const flags = {};
  if (f.volatile) flags.volatile = true;
  if ('compress' in f && f.compress !== undefined) flags.compress = !!f.compress;
  const rooms = [...new Set(opts.rooms || [])], except = [...new Set(opts.except || [])];
  const o = order === 'emitter' ? { rooms, flags, except } : { rooms, except, flags };
  const p = { type: 2, data: jsonish(packet.data), nsp: packet.nsp === undefined ? '/' : packet.nsp };
  const again = hex(enc([typeof uid === 'string' ? uid : null, p, o]));
  return again === hex(buf) ? order : order + ':' + again;
}

const P = (data, nsp = '/') => ({ type: 2, data, nsp });
const EO = (rooms = [], except = [], flags = {}) => ({ rooms, flags, except }); // emitter order
const nest = (n, v) => (n === 0 ? v : [nest(n - 1, v)]);
const AO = (rooms = [], except = [], flags = {}) => ({ rooms, except, flags }); // adapter order

// [channel or '-', bytes, order for OUT, comment]
const broadcastValid = [
  ['socket.io#/#room1#', H(`93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a8 65 6d 2d 72 6f 6f 6d 31 01
a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 91 a5 72 6f 6f 6d 31 a5 66 6c 61 67 73 80 a6 65 78 63 65
70 74 90`), 'emitter', 'golden 2.5 (a) emitter to("room1").emit("em-room1", 1)'],
  ['socket.io#/#', H(`93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 93 a6 65 6d 2d 62 69 6e c4 04 de
ad be ef 81 a6 6e 65 73 74 65 64 c4 02 68 69 a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 90 a5 66 6c
61 67 73 80 a6 65 78 63 65 70 74 90`), 'emitter', 'golden 2.5 (b) emitter emit("em-bin", <de ad be ef>, {nested: <68 69>})'],
  ['socket.io#/#room1#', H(`93 a6 59 30 65 76 78 4a 83 a4 74 79 70 65 02 a4 64 61 74 61 91 b0 61 64 2d 73 6f 63 6b 2d 74 6f
2d 72 6f 6f 6d 31 a3 6e 73 70 a1 2f 83 a5 72 6f 6f 6d 73 91 a5 72 6f 6f 6d 31 a6 65 78 63 65 70
74 91 b4 45 30 6b 52 53 5a 6d 67 39 6c 70 48 37 45 55 79 41 41 41 41 a5 66 6c 61 67 73 80`), 'adapter', 'golden 2.5 (c) adapter socketA1.to("room1").emit("ad-sock-to-room1")'],
  ['socket.io#/chat#room1#', H(`93 a7 65 6d 69 74 74 65 72 83 a4 74 79 70 65 02 a4 64 61 74 61 92 ad 65 6d 2d 63 68 61 74 2d 6d
69 78 65 64 2a a3 6e 73 70 a5 2f 63 68 61 74 83 a5 72 6f 6f 6d 73 91 a5 72 6f 6f 6d 31 a5 66 6c
61 67 73 81 a8 76 6f 6c 61 74 69 6c 65 c3 a6 65 78 63 65 70 74 91 b4 41 77 4e 39 72 69 6f 6f 5f
69 79 53 57 47 65 65 41 41 41 46`), 'emitter', 'golden 2.5 (d) emitter of("/chat").to("room1").except(c2.id).volatile.emit("em-chat-mixed", 42)'],
  // python socket.io-emitter 0.1.5.1 layout, bytes from msgpack-python 1.0.3 msgpack.packb
  ['socket.io#/#', H('93a7656d697474657283a46461746192a670792d616c6ca178a47479706502a36e7370a12f82a5666c616773a0a5726f6f6d73a0'), 'emitter', "python emitter Emit('py-all','x'): {data,type,nsp}, {flags:'',rooms:''}"],
  ['socket.io#/#room1#', H('93a7656d697474657283a46461746192a870792d726f6f6d3101a47479706502a36e7370a12f82a5666c616773a0a5726f6f6d7391a5726f6f6d31'), 'emitter', "python emitter To('room1').Emit('py-room1',1)"],
  ['socket.io#/#', H('93a7656d697474657283a46461746193a870792d6279746573c4020102cb3ff8000000000000a47479706502a36e7370a12f82a5666c616773a0a5726f6f6d73a0'), 'emitter', "python emitter Emit('py-bytes',b'\\x01\\x02',1.5)"],
  ['socket.io#/#room2#', H('93a7656d697474657283a46461746191ac70792d74776f2d726f6f6d73a47479706502a36e7370a12f82a5666c616773a0a5726f6f6d7392a5726f6f6d31a5726f6f6d32'), 'emitter', "python emitter To('room1','room2'): the copy on room2's channel lists both rooms"],
  ['socket.io#/chat#', H('93a7656d697474657283a46461746192a770792d6368617481a16b9201c0a47479706502a36e7370a52f6368617482a5666c616773a0a5726f6f6d73a0'), 'emitter', "python emitter Of('/chat').Emit('py-chat',{'k':[1,None]})"],
  // socket.io-redis 5.x / socket.io-emitter 3.x (socket.io 2): opts {rooms, flags}, no except
  ['socket.io#/#room1#', enc(['Xy12ab', P(['o-ev', 1]), { rooms: ['room1'], flags: { json: true, volatile: false, broadcast: true, binary: false } }]), 'emitter', 'socket.io 2 shape: opts {rooms, flags} with json/broadcast/binary flags'],
  ['socket.io#/#', enc(['Xy12ab', P(['o-sock']), { except: ['8dkQdQ2fAQvOWtnQAAAB'], rooms: [], flags: { broadcast: true } }]), 'adapter', 'socket.io 2 socket.broadcast: opts {except, rooms, flags}'],
  ['socket.io#/#', H('93a6587931326162 83a474797065 02 a464617461 93 a46f2d6474 d7000000018cc820d888 d40000 a36e7370a12f 82a5726f6f6d7390a5666c61677380'), 'emitter', 'notepack 2 Date d7 00 and undefined d4 00 00 in the arguments'],
  ['socket.io#/#', H('93a6587931326162 83a474797065 02 a464617461 92 a46f2d6162 c70300010203 a36e7370a12f 82a5726f6f6d7390a5666c61677380'), 'emitter', 'notepack 2 ArrayBuffer (ext8 type 0) argument is binary'],
  // tolerance of 8.x
  ['socket.io#/#', enc([null, P(['nil-uid']), EO()]), 'emitter', 'nil uid is delivered (H2)'],
  ['socket.io#/#', enc([42, P(['int-uid']), EO()]), 'emitter', 'a non-string uid is delivered and never equals ours'],
  ['socket.io#/#', enc([Buffer.from('Y0evxJ'), P(['bin-uid']), EO()]), 'emitter', 'a bin uid is not the string uid'],
  ['socket.io#/#', enc(['emitter', { type: 2, data: ['no-nsp'] }, EO()]), 'emitter', 'nsp missing means "/" (H1)'],
  ['socket.io#/#', H('93a7656d6974746572 83a474797065 02 a464617461 91a465762d75 a36e7370 d40000 83a5726f6f6d7390a5666c61677380a665786365707490'), 'emitter', 'nsp undefined (d4 00 00) is missing, so "/"'],
  ['socket.io#/#', enc(['emitter', P(['only-rooms']), { rooms: [] }]), 'emitter', 'flags and except missing'],
  ['socket.io#/#', enc(['emitter', P(['empty-opts']), {}]), 'emitter', 'opts {} is delivered to everyone (H2)'],
  ['socket.io#/#', enc(['emitter', P(['nil-lists']), { rooms: null, except: null, flags: null }]), 'emitter', 'rooms/except nil are empty sets, flags nil is {}'],
  ['socket.io#/#', enc(['emitter', P(['empty-strings']), { rooms: '', except: '', flags: '' }]), 'emitter', 'rooms/except/flags "" as the Python emitter sends'],
  ['socket.io#/#', enc(['emitter', P(['four']), EO(), 'extra']), 'emitter', 'elements after opts are ignored'],
  ['socket.io#/#', enc(['emitter', P(['dups']), EO(['a', 'b', 'a'], ['x', 'x'])]), 'emitter', 'duplicate rooms/except are one (sets)'],
  ['socket.io#/#', enc(['Y0evxJ', P(['ad-single']), AO([], [], { expectSingleResponse: true, timeout: 5000 })]), 'adapter', 'A13-like flags: expectSingleResponse and timeout are ignored'],
  ['socket.io#/#', enc(['Y0evxJ', P(['truthy']), AO([], [], { volatile: 1, compress: 0 })]), 'adapter', 'flags are read as JS truthiness: volatile 1, compress 0'],
  ['socket.io#/#', enc(['Y0evxJ', P(['falsy']), AO([], [], { volatile: false, compress: 'yes' })]), 'adapter', 'volatile false is not set; compress "yes" is true'],
  ['socket.io#/#', enc(['Y0evxJ', P(['flags-array']), AO([], [], [1])]), 'adapter', 'flags that are not a map hold no flag'],
  ['socket.io#/#', H('93a7656d6974746572 83a474797065 cb4000000000000000 a464617461 91a366326f a36e7370a12f 83a5726f6f6d7390a5666c61677380a665786365707490'), 'emitter', 'packet.type as float64 2.0 is 2 (===)'],
  ['socket.io#/#', enc(['emitter', { type: 2, data: ['extra-keys'], nsp: '/', id: 7, attachments: 0 }, EO()]), 'emitter', 'other packet keys (id, attachments) are ignored'],
  ['socket.io#/#', enc(['emitter', { nsp: '/', data: ['key-order'], type: 2 }, { except: [], flags: {}, rooms: [] }]), 'emitter', 'key order does not matter to the decoder'],
  ['socket.io#/#', H('93 d907656d6974746572 83 d9047479706502 da000464617461 91 db000000026576 d9036e7370 a12f 83 a5726f6f6d73 90 a5666c616773 80 a6657863657074 90'), 'emitter', 'str8/16/32 forms are accepted and written back in the smallest form'],
  ['socket.io#/#', enc(['emitter', P(['ünïcødé-€', { 'ключ': ['значение', Buffer.from([0, 255])] }]), EO(['комната'])]), 'emitter', 'UTF-8 names, keys and rooms'],
  ['socket.io#/#', enc(['emitter', P(['', '']), EO()]), 'emitter', 'empty event name'],
  ['socket.io#/#', enc(['emitter', P(['deep', nest(29, 'bottom')]), EO()]), 'emitter', 'arguments nested to the depth limit: 32 containers in all'],
  ['socket.io#/#', enc(['emitter', P(['many-rooms']), EO(Array.from({ length: 20 }, (_, i) => 'r' + i))]), 'emitter', '20 rooms (array16)'],
  ['socket.io#//weird#', enc(['emitter', P(['ns'], '//weird'), EO()]), 'emitter', 'any nsp string'],
  ['socket.io#/#a#b#', enc(['emitter', P(['hash-room']), EO(['a#b'])]), 'emitter', 'a room holding #'],
];

// [bytes, comment]
const bE = (v) => enc(v);
const broadcastInvalid = [
  [bE(['emitter', P(['two'])]), '2-element array: 8.x throws on opts.rooms'],
  [bE(['emitter']), '1-element array'],
  [bE([]), 'empty array'],
  [bE({ uid: 'emitter', packet: P(['x']), opts: EO() }), 'a map, not an array'],
  [bE('emitter'), 'a string'],
  [bE(['Xy12ab', { type: 5, data: ['o-bin', Buffer.from([1])], nsp: '/' }, { rooms: [], flags: { binary: true } }]), 'packet type 5 (socket.io 2 binary): would break v4 clients (H5)'],
  [bE(['emitter', { type: 0, data: ['x'], nsp: '/' }, EO()]), 'packet type 0'],
  [bE(['emitter', { type: 3, data: ['x'], nsp: '/' }, EO()]), 'packet type 3 (ACK)'],
  [bE(['emitter', { type: '2', data: ['x'], nsp: '/' }, EO()]), 'packet type as a string'],
  [bE(['emitter', { data: ['x'], nsp: '/' }, EO()]), 'packet type missing'],
  [bE(['emitter', { type: 2.5, data: ['x'], nsp: '/' }, EO()]), 'packet type 2.5'],
  [bE(['emitter', { type: 2, nsp: '/' }, EO()]), 'data missing'],
  [bE(['emitter', { type: 2, data: 'x', nsp: '/' }, EO()]), 'data a string'],
  [bE(['emitter', { type: 2, data: { 0: 'x' }, nsp: '/' }, EO()]), 'data a map'],
  [bE(['emitter', P([]), EO()]), 'data empty: no event name'],
  [bE(['emitter', P([1]), EO()]), 'event name an integer'],
  [bE(['emitter', P([null, 1]), EO()]), 'event name nil'],
  [bE(['emitter', P([Buffer.from('ev')]), EO()]), 'event name as bin: clients disconnect (H4)'],
  [bE(['emitter', P([['ev']]), EO()]), 'event name an array'],
  [bE(['emitter', P(['x'], Buffer.from('/')), EO()]), 'nsp as bin: dropped by 8.x (H3)'],
  [bE(['emitter', P(['x'], null), EO()]), 'nsp nil'],
  [bE(['emitter', P(['x'], 7), EO()]), 'nsp an integer'],
  [bE(['emitter', P(['x'], '/a\u0000b'), EO()]), 'nsp holding NUL'],
  [bE(['emitter', null, EO()]), 'packet nil'],
  [bE(['emitter', [2, ['x'], '/'], EO()]), 'packet an array'],
  [bE(['emitter', P(['x']), null]), 'opts nil: 8.x throws'],
  [bE(['emitter', P(['x']), '']), 'opts ""'],
  [bE(['emitter', P(['x']), []]), 'opts an array'],
  [bE(['emitter', P(['x']), { rooms: 'room1' }]), 'rooms a non-empty string'],
  [bE(['emitter', P(['x']), { rooms: [1] }]), 'rooms holding an integer'],
  [bE(['emitter', P(['x']), { rooms: [Buffer.from('r')] }]), 'rooms holding bin'],
  [bE(['emitter', P(['x']), { rooms: [null] }]), 'rooms holding nil'],
  [bE(['emitter', P(['x']), { rooms: 5 }]), 'rooms an integer'],
  [bE(['emitter', P(['x']), { rooms: { a: 1 } }]), 'rooms a map'],
  [bE(['emitter', P(['x']), { rooms: ['a\u0000b'] }]), 'room holding NUL'],
  [bE(['emitter', P(['x']), { except: [true] }]), 'except holding a bool'],
  [bE(['emitter', P(['x']), { except: 'sid' }]), 'except a non-empty string'],
  [H('93a7656d6974746572 83a474797065 02 a464617461 91a2ff61 a36e7370a12f 80'), 'event name not UTF-8'],
  [Buffer.concat([bE(['emitter', P(['x']), EO()]), H('c0')]), 'trailing byte'],
  [H('dd ffffffff'), 'huge array header and no data'],
  [H('93 a7656d6974746572 dd ffffffff'), 'huge array header inside'],
  [bE(['emitter', P(['deep', nest(30, 'bottom')]), EO()]), 'arguments nested one level past the limit: 33 containers'],
  [H('93a7656d6974746572' + '91'.repeat(40) + 'c0'), 'nested 41 deep'],
];

// ---- msgpack values (hand-made, golden first) -----------------------------------------------------

// [bytes, comment, wireReal]
const msgpackValid = [
  [H('cc 80'), 'captured 128', false],
  [H('cd 01 2c'), 'captured 300', false],
  [H('ce 00 01 11 70'), 'captured 70000', false],
  [H('cf 00 00 01 00 00 00 00 00'), 'captured 2^40', false],
  [H('d0 df'), 'captured -33', false],
  [H('d6 ff 65 93 7d 25'), 'captured Date 2024-01-02T03:04:05Z (timestamp32)', false],
  [H('d7 00 00 00 01 8c c8 20 d8 88'), 'captured notepack 2 Date from socket.io 2', false],
  [H(`84 a4 74 79 70 65 03 a4 64 61 74 61 82 a6 70 61 63 6b 65 74 82 a4 74 79 70 65 02 a4 64 61 74 61 92 a6 61 64 2d 62 69 6e c4 03 01 02 03 a4 6f 70 74 73 83 a5 72 6f 6f 6d 73 90 a6 65 78 63 65 70 74 90 a5 66 6c 61 67 73 80 a3 75 69 64 b0 64 39 61 35 30 39 64 62 34 62 32 31 64 36 65 36 a3 6e 73 70 a1 2f`), 'golden 5 sharded adapter binary BROADCAST (a map)', false],
  [H(`83 a4 74 79 70 65 09 a9 72 65 71 75 65 73 74 49 64 a6 47 35 7a 32 78 39 a6 70 61 63 6b 65 74 a6 62 31 2d 61 63 6b`), 'golden 3.3 BROADCAST_ACK as a plain value', false],
  [H('91'.repeat(31) + 'd40501'), 'an ext of type 5 inside 31 arrays: its [type, bin] is the 32nd container', false],
  [H('91'.repeat(32) + 'd6ff65937d25'), 'a Date inside 32 arrays (a string, not a container)', false],
  [H('d4 00 00'), 'notepack 2 undefined', false],
  [H('92 a1 61 d4 00 00'), 'notepack 2 undefined in an array is nil', false],
];

const msgpackInvalid = [
  [H('c1'), 'reserved byte c1'],
  [H('91 c1'), 'reserved byte c1 inside'],
  [H('92 01'), 'array missing an element'],
  [H('93 c0'), 'array missing elements'],
  [H('82 a1 61 01'), 'map missing an entry'],
  [H('81 a1 61'), 'map missing a value'],
  [H('01 02'), 'trailing bytes'],
  [H('90 90'), 'two values'],
  [H('dd ff ff ff ff'), 'array32 of 4294967295 with no data'],
  [H('dd 00 10 00 00 c0'), 'array32 of 1048576 with one byte'],
  [H('dc ff ff'), 'array16 of 65535 with no data'],
  [H('df ff ff ff ff'), 'map32 of 4294967295 with no data'],
  [H('de 00 02 c0 c0 c0'), 'map16 of 2 with 3 values'],
  [H('db ff ff ff ff'), 'str32 of 4 GiB with no data'],
  [H('c6 ff ff ff ff 00'), 'bin32 of 4 GiB with one byte'],
  [H('c9 ff ff ff ff 00'), 'ext32 of 4 GiB with no data'],
  [H('c4 05 01 02'), 'bin8 short'],
  [H('a5 61 62'), 'fixstr short'],
  [H('d9'), 'str8 without its length'],
  [H('cd 01'), 'uint16 short'],
  [H('cb 00 00 00'), 'float64 short'],
  [H('ca 00 00'), 'float32 short'],
  [H('d6 ff 00'), 'timestamp32 short'],
  [H('d7 ff 00 00 00 00'), 'timestamp64 short'],
  [H('d8 00 00'), 'fixext16 short'],
  [H('c7 05 00 01'), 'ext8 short'],
  [H('a2 ff fe'), 'string not UTF-8'],
  [H('a2 c0 af'), 'string with an overlong encoding'],
  [H('a3 ed a0 80'), 'string with a surrogate'],
  [H('a4 f4 90 80 80'), 'string past U+10FFFF'],
  [H('a1 80'), 'string with a lone continuation byte'],
  [H('a2 e2 82'), 'string with a truncated sequence'],
  [H('81 01 01'), 'map key an integer'],
  [H('81 c0 01'), 'map key nil'],
  [H('81 c4 01 61 01'), 'map key bin'],
  [H('81 90 01'), 'map key an array'],
  [H('81 a2 ff fe 01'), 'map key not UTF-8'],
  [H('81 a3 61 00 62 01'), 'map key holding NUL'],
  [H('c7 04 ff 65 93 7d 25'), 'timestamp ext8 of 4 bytes (notepack reads 12: misparse)'],
  [H('c7 00 ff'), 'timestamp ext8 of 0 bytes'],
  [H('91'.repeat(33) + 'c0'), '33 nested arrays (limit 32)'],
  [H('81a161'.repeat(33) + 'c0'), '33 nested maps'],
  [H('91'.repeat(32) + 'd40501'), 'an ext of type 5 inside 32 arrays: its [type, bin] would be the 33rd container'],
  [H('91'.repeat(32) + 'c800009d'), 'an empty ext16 of type -99 inside 32 arrays (found by fuzzing)'],
];

// ---- requests and responses -----------------------------------------------------------------------

// [kind, input (string = JSON text, Buffer = msgpack), out ('=' or string/Buffer), comment]
const reqValid = [
  ['req', H(`85 a3 75 69 64 a6 59 30 65 76 78 4a a9 72 65 71 75 65 73 74 49 64 a6 47 35 7a 32 78 39 a4 74 79
  70 65 07 a6 70 61 63 6b 65 74 83 a4 74 79 70 65 02 a4 64 61 74 61 92 a6 61 64 2d 61 63 6b 2a a3
  6e 73 70 a1 2f a4 6f 70 74 73 83 a5 72 6f 6f 6d 73 90 a6 65 78 63 65 70 74 90 a5 66 6c 61 67 73
  81 a7 74 69 6d 65 6f 75 74 cd 07 d0`), '=', 'golden 3.3 A10 BROADCAST io.timeout(2000).emitWithAck("ad-ack", 42)'],
  ['resp', H('83 a4 74 79 70 65 09 a9 72 65 71 75 65 73 74 49 64 a6 47 35 7a 32 78 39 a6 70 61 63 6b 65 74 a6 62 31 2d 61 63 6b'), '=', 'golden 3.3 BROADCAST_ACK {type:9, requestId, packet:"b1-ack"}'],
  ['resp', '{"type":8,"requestId":"G5z2x9","clientCount":2}', '=', '3.3 BROADCAST_CLIENT_COUNT'],
  ['resp', '{"type":8,"requestId":"G5z2x9","clientCount":0}', '=', 'BROADCAST_CLIENT_COUNT 0 (always sent)'],
  ['req', '{"uid":"Y0evxJ","requestId":"OggnYp","type":1}', '=', '3.3 ALL_ROOMS'],
  ['resp', '{"requestId":"OggnYp","rooms":["7zITUT4yBBrBi-YTAAAC","room1","room2","RezJzXdhg5vLqj1PAAAD","room5","room3"]}', '=', '3.3 ALL_ROOMS response'],
  ['req', '{"uid":"Y0evxJ","requestId":"eIRXz1","type":5,"opts":{"rooms":["room1"],"except":[]}}', '=', '3.3 REMOTE_FETCH'],
  ['resp', '{"requestId":"eIRXz1","sockets":[{"id":"7zITUT4yBBrBi-YTAAAC","handshake":{"headers":{"host":"localhost:3000"},"time":"Tue Jan 02 2024 04:04:05 GMT+0100 (Central European Standard Time)","address":"::1","xdomain":false,"secure":false,"issued":1704164645000,"url":"/socket.io/?EIO=4&transport=websocket","query":{"EIO":"4","transport":"websocket"},"auth":{}},"rooms":["7zITUT4yBBrBi-YTAAAC","room1","room2"],"data":{"name":"b1"}}]}', '=', '3.3 REMOTE_FETCH response'],
  ['resp', '{"requestId":"eIRXz1","sockets":[]}', '=', 'REMOTE_FETCH empty response (must still be sent)'],
  ['req', '{"uid":"Y0evxJ","requestId":"r0","type":0,"rooms":["roomL"]}', '=', '3.3 SOCKETS (legacy, still answered)'],
  ['resp', '{"requestId":"r0","sockets":["4Jfeo4zqBLikA4_gAAAA"]}', '=', 'SOCKETS response'],
  ['req', '{"uid":"Y0evxJ","type":2,"opts":{"rooms":[],"except":[]},"rooms":["room3"]}', '=', '3.3 REMOTE_JOIN'],
  ['req', '{"uid":"Y0evxJ","type":3,"opts":{"rooms":["room1"],"except":[]},"rooms":["room3"]}', '=', '3.3 REMOTE_LEAVE'],
  ['req', '{"requestId":"L3gacy","type":2,"sid":"4Jfeo4zqBLikA4_gAAAA","room":"roomX"}', '=', '3.3 legacy REMOTE_JOIN {requestId, type, sid, room}'],
  ['resp', '{"requestId":"L3gacy"}', '=', 'legacy REMOTE_JOIN response'],
  ['req', '{"requestId":"L3gacz","type":4,"sid":"4Jfeo4zqBLikA4_gAAAA","close":true}', '=', 'legacy REMOTE_DISCONNECT'],
  ['req', '{"uid":"Y0evxJ","type":4,"opts":{"rooms":["RezJzXdhg5vLqj1PAAAD"],"except":[]},"close":true}', '=', '3.3 REMOTE_DISCONNECT'],
  ['req', '{"uid":"Y0evxJ","type":6,"data":["hello-srv",1,"two"]}', '=', '3.3 SERVER_SIDE_EMIT'],
  ['req', '{"uid":"Y0evxJ","requestId":"o4rM5M","type":6,"data":["ping-srv","x"]}', '=', '3.3 SERVER_SIDE_EMIT with an ack'],
  ['resp', '{"type":6,"requestId":"o4rM5M","data":"pong-from-B"}', '=', '3.3 SERVER_SIDE_EMIT ack response'],
  ['req', '{"type":2,"opts":{"rooms":[],"except":[]},"rooms":["room5"]}', '=', '4 emitter socketsJoin (no uid, no requestId)'],
  ['req', '{"type":4,"opts":{"rooms":["room-none"],"except":[]},"close":false}', '=', '4 emitter disconnectSockets'],
  ['req', '{"uid":"emitter","type":6,"data":["hello-srv",{"a":1},"x"]}', '=', '4 emitter serverSideEmit'],
  ['req', enc({ uid: 'Y0evxJ', type: 6, data: ['srv-bin', Buffer.from([1, 2])] }), '=', 'SERVER_SIDE_EMIT as msgpack with binary (H13) stays msgpack'],
  ['req', enc({ uid: 'Y0evxJ', requestId: 'OggnYq', type: 1 }), '{"uid":"Y0evxJ","requestId":"OggnYq","type":1}', 'ALL_ROOMS as msgpack (7.2+ accepts it) is sent back as JSON'],
  ['req', '{"uid":"Y0evxJ","requestId":"x","type":1} ', '{"uid":"Y0evxJ","requestId":"x","type":1}', 'trailing whitespace after JSON'],
  ['req', '{"uid":"Y0evxJ","requestId":"x","type":1,"extra":[1.5,null,true,"\\u00e9/"]}', '{"uid":"Y0evxJ","requestId":"x","type":1,"extra":[1.5,null,true,"é/"]}', 'unknown fields are kept; escapes decoded'],
  ['req', enc({ uid: 'Y0evxJ', requestId: 'A2', type: 7, packet: { type: 2, data: ['ack-flags', { b: Buffer.from('hi') }], nsp: '/chat' }, opts: { rooms: ['r1'], except: ['s1'], flags: { volatile: true, compress: false, timeout: 500 } } }), '=', 'BROADCAST with rooms, except, flags and binary'],
  ['resp', enc({ type: 9, requestId: 'A2', packet: Buffer.from([9]) }), '=', 'BROADCAST_ACK with a binary ack value'],
  ['resp', enc({ type: 9, requestId: 'A2', packet: undefined }), '=', 'BROADCAST_ACK whose ack value was undefined (key left out)'],
];

const reqInvalid = [
  ['req', '{"uid":"Y0evxJ","requestId":"x","type":1', 'truncated JSON'],
  ['req', '{"uid":"Y0evxJ","requestId":"x","type":1}x', 'garbage after JSON'],
  ['req', '{"uid":"Y0evxJ","requestId":"x","type":1}{}', 'two JSON objects'],
  ['req', ' {"uid":"Y0evxJ","requestId":"x","type":1}', 'leading space: decoded as msgpack (a fixint then trailing bytes)'],
  ['req', '[1]', 'JSON array: first byte not "{", and not msgpack'],
  ['req', '{"requestId":"x"}', 'type missing'],
  ['req', '{"requestId":"x","type":"1"}', 'type a string'],
  ['req', '{"requestId":"x","type":10}', 'type 10'],
  ['req', '{"requestId":"x","type":-1}', 'type -1'],
  ['req', '{"requestId":"x","type":1.5}', 'type 1.5'],
  ['req', '{"type":1}', 'ALL_ROOMS without requestId'],
  ['req', '{"requestId":5,"type":1}', 'requestId an integer'],
  ['req', '{"requestId":"a\\u0000b","type":1}', 'requestId holding NUL'],
  ['req', '{"uid":5,"requestId":"x","type":1}', 'uid an integer'],
  ['req', '{"uid":null,"requestId":"x","type":1}', 'uid null'],
  ['req', '{"type":0,"rooms":["a"]}', 'SOCKETS without requestId'],
  ['req', '{"requestId":"x","type":0,"rooms":"a"}', 'SOCKETS rooms a string'],
  ['req', '{"type":2,"opts":{"rooms":[],"except":[]}}', 'REMOTE_JOIN without rooms'],
  ['req', '{"type":2,"opts":{"rooms":[],"except":[]},"rooms":[1]}', 'REMOTE_JOIN rooms holding an integer'],
  ['req', '{"type":2,"opts":{"rooms":"r","except":[]},"rooms":["a"]}', 'opts.rooms a string'],
  ['req', '{"type":3,"opts":{"rooms":[],"except":[null]},"rooms":["a"]}', 'opts.except holding null'],
  ['req', '{"type":3,"opts":[],"rooms":["a"]}', 'opts an array'],
  ['req', '{"requestId":"x","type":2,"sid":"s"}', 'legacy REMOTE_JOIN without room'],
  ['req', '{"type":2,"sid":"s","room":"r"}', 'legacy REMOTE_JOIN without requestId'],
  ['req', '{"type":4,"opts":{"rooms":[],"except":[]},"close":"yes"}', 'REMOTE_DISCONNECT close a string'],
  ['req', '{"requestId":"x","type":4}', 'legacy REMOTE_DISCONNECT without sid'],
  ['req', '{"requestId":"x","type":5}', 'REMOTE_FETCH without opts'],
  ['req', '{"type":5,"opts":{"rooms":[],"except":[]}}', 'REMOTE_FETCH without requestId'],
  ['req', '{"uid":"u","type":6}', 'SERVER_SIDE_EMIT without data'],
  ['req', '{"uid":"u","type":6,"data":[]}', 'SERVER_SIDE_EMIT data empty'],
  ['req', '{"uid":"u","type":6,"data":"ev"}', 'SERVER_SIDE_EMIT data a string'],
  ['req', '{"uid":"u","type":6,"data":[1]}', 'SERVER_SIDE_EMIT event name an integer'],
  ['req', enc({ uid: 'u', requestId: 'r', type: 7, opts: { rooms: [], except: [] } }), 'BROADCAST without packet'],
  ['req', enc({ uid: 'u', requestId: 'r', type: 7, packet: { type: 5, data: ['x'], nsp: '/' }, opts: { rooms: [], except: [] } }), 'BROADCAST packet type 5'],
  ['req', enc({ uid: 'u', requestId: 'r', type: 7, packet: { type: 2, data: [], nsp: '/' }, opts: { rooms: [], except: [] } }), 'BROADCAST packet data empty'],
  ['req', enc({ uid: 'u', requestId: 'r', type: 7, packet: { type: 2, data: ['x'], nsp: Buffer.from('/') }, opts: { rooms: [], except: [] } }), 'BROADCAST packet nsp bin'],
  ['req', enc({ uid: 'u', requestId: 'r', type: 7, packet: { type: 2, data: ['x'], nsp: '/' } }), 'BROADCAST without opts'],
  ['req', enc({ uid: 'u', type: 7, packet: { type: 2, data: ['x'], nsp: '/' }, opts: { rooms: [], except: [] } }), 'BROADCAST without requestId'],
  ['req', enc([1, 2]), 'msgpack array, not a map'],
  ['req', enc('{'), 'msgpack string'],
  ['req', H('81 a4 74 79 70 65'), 'truncated msgpack'],
  ['resp', '{"type":8,"clientCount":2}', 'response without requestId'],
  ['resp', '{"type":8,"requestId":"r","clientCount":-1}', 'clientCount negative'],
  ['resp', '{"type":8,"requestId":"r"}', 'clientCount missing'],
  ['resp', '{"type":"8","requestId":"r","clientCount":1}', 'type a string'],
  ['resp', enc({ type: 9, packet: 'x' }), 'BROADCAST_ACK without requestId'],
];

// ---- output ---------------------------------------------------------------------------------------

function write(dir, name, header, lines) {
  fs.writeFileSync(path.join(dir, name), header.trim() + '\n\n' + lines.join('\n') + '\n');
}

const gen = '# Generated by gen_cases.js (same directory) from its case lists: edit those, then run\n' +
  '#   node tests/vectors/redis/gen_cases.js\n';

function main() {
  const dir = process.argv[2] || __dirname;
  const treeOf = (input) => (typeof input === 'string' ? JSON.parse(input) : notepack.decode(input));
  const field = (input) => (typeof input === 'string' ? 'json:' + esc(input) : 'hex:' + hex(input));

  write(dir, 'broadcast_valid.txt', `
# broadcast_valid.txt: [uid, packet, opts] payloads rd_broadcast_decode accepts.
${gen}#
# One case per line: CHANNEL HEX EXPECT OUT [# comment]
#   CHANNEL the channel it was published on (\\s for a space), or - ; rd_channel_room(CHANNEL,
#           "socket.io", nsp) must give a room that is in rooms (or none), and rd_channel_broadcast
#           must give CHANNEL back from it
#   HEX     the payload, lower-case hex without spaces
#   EXPECT  the decoded struct as compact JSON without whitespace:
#           {"uid":STR|null,"nsp":STR,"data":[...],"rooms":[...],"except":[...],
#            "volatile":BOOL,"compress":BOOL|null}   (null: compress not set)
#           data follows msgpack_valid.txt: {"$bin":"HEX"} for binary, reals written with a '.'
#   OUT     emitter | adapter: rd_broadcast_encode in that key order gives HEX back;
#           emitter:HEX2 | adapter:HEX2: it gives HEX2 instead
# The expected values are notepack.decode(HEX) as redis-adapter 8.x reads them.`,
  broadcastValid.map(([ch, b, order, c]) => `${esc(ch)} ${hex(b)} ${broadcastExpected(b)} ${broadcastOut(b, order)} # ${c}`));

  write(dir, 'broadcast_invalid.txt', `
# broadcast_invalid.txt: payloads rd_broadcast_decode must reject (without crashing).
${gen}#
# One case per line: HEX [# comment]`,
  broadcastInvalid.map(([b, c]) => `${hex(b)} # ${c}`));

  write(dir, 'msgpack_valid.txt', `
# msgpack_valid.txt: msgpack values from the protocol notes' captures, their jansson tree, and what
# rd_json_to_msgpack writes for that tree. More cases: msgpack_notepack.txt.
${gen}#
# One case per line: HEX JSON OUT [# comment]
#   HEX   the msgpack bytes, lower-case hex without spaces
#   JSON  the tree rd_msgpack_to_json must give, as compact JSON without whitespace (write a space
#         as \\u0020): a real is written with a '.' or an exponent (2.0) and an integer without; a
#         binary value is {"$bin":"HEX"} ("" for no bytes)
#   OUT   = when encoding the tree gives HEX back, else the hex it must give`,
  msgpackValid.map(([b, c, real]) => {
    const v = notepack.decode(b);
    const out = hex(enc(jsonish(v)));
    return `${hex(b)} ${expected(v, real)} ${out === hex(b) ? '=' : out} # ${c}`;
  }));

  write(dir, 'msgpack_invalid.txt', `
# msgpack_invalid.txt: bytes rd_msgpack_to_json must reject, quickly and without allocating what the
# headers declare.
${gen}#
# One case per line: HEX [# comment]`,
  msgpackInvalid.map(([b, c]) => `${hex(b)} # ${c}`));

  write(dir, 'request_valid.txt', `
# request_valid.txt: request and response payloads (K-request#NSP#, K-response#NSP#[UID#]).
${gen}#
# One case per line: KIND INPUT EXPECT OUT [# comment]
#   KIND    req (rd_request_decode) or resp (rd_response_decode)
#   INPUT   json:TEXT (the JSON text; \\s for a space, \\\\ for a backslash) or hex:HEX (any bytes: the
#           first byte '{' makes them JSON, anything else msgpack)
#   EXPECT  the decoded tree, in the JSON convention of msgpack_valid.txt
#   OUT     = when rd_request_encode of the tree gives INPUT back, else json:TEXT or hex:HEX`,
  reqValid.map(([kind, input, out, c]) => {
    const exp = expected(treeOf(input));
    const o = out === '=' ? '=' : field(out);
    return `${kind} ${field(input)} ${exp} ${o} # ${c}`;
  }));

  write(dir, 'request_invalid.txt', `
# request_invalid.txt: payloads rd_request_decode (req) or rd_response_decode (resp) must reject.
${gen}#
# One case per line: KIND INPUT [# comment]   (INPUT as in request_valid.txt)`,
  reqInvalid.map(([kind, input, c]) => `${kind} ${field(input)} # ${c}`));
}

main();
