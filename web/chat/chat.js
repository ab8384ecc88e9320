// siobroker chat: joins a room through the daemon's `rooms` policy and exchanges "chat" and
// "presence" events with the other members. No framework; the Socket.IO client is served by the
// daemon at /socket.io/socket.io.min.js.
//
// The rooms policy: `join`/`leave` with a room name answer {ok:true} or {ok:false,error}; any other
// event is relayed to the other members of the sender's rooms (never back to the sender) and, if
// an ack was asked for, answered {ok:true, delivered:N}. So this page shows its own messages itself.
(function () {
  'use strict';

  const ACK_TIMEOUT_MS = 5000;
  const $ = (id) => document.getElementById(id);
  const ui = {
    name: $('name'),
    room: $('room'),
    join: $('join'),
    joinForm: $('join-form'),
    text: $('text'),
    send: $('send'),
    sendForm: $('send-form'),
    log: $('log'),
    status: $('status'),
  };

  /** The room this page is in (acknowledged by the server), or null. */
  let room = null;
  /** The room to join again after a reconnection (the server forgets memberships), or null. */
  let rejoin = null;
  let joining = false;

  function setStatus(state, text) {
    ui.status.dataset.state = state;
    ui.status.textContent = text;
  }

  if (!ui.name.value) ui.name.value = `guest-${Math.floor(1000 + Math.random() * 9000)}`;

  if (typeof io !== 'function') {
    setStatus('error', 'The Socket.IO client (/socket.io/socket.io.min.js) did not load.');
    return;
  }

  const socket = io(); // same origin, path /socket.io/, namespace "/"

  const myName = () => ui.name.value.trim() || 'anonymous';

  function timeOf(ts) {
    const d = new Date(Number.isFinite(ts) ? ts : Date.now());
    return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  /** Appends an entry to the log and keeps the newest one in view. Returns the <li>. */
  function addEntry(kind, ts, build) {
    const li = document.createElement('li');
    li.className = kind;
    li.dataset.kind = kind;
    const time = document.createElement('time');
    const when = Number.isFinite(ts) ? ts : Date.now();
    time.dateTime = new Date(when).toISOString();
    time.textContent = timeOf(when);
    li.append(time);
    build(li);
    const atBottom = ui.log.scrollTop + ui.log.clientHeight >= ui.log.scrollHeight - 4;
    ui.log.append(li);
    if (atBottom) ui.log.scrollTop = ui.log.scrollHeight;
    return li;
  }

  function logLine(kind, text) {
    return addEntry(kind, Date.now(), (li) => li.append(text));
  }

  function logChat(msg, own) {
    return addEntry('chat', msg.ts, (li) => {
      if (own) li.classList.add('own');
      li.dataset.own = own ? 'true' : 'false';
      const who = document.createElement('span');
      who.className = 'who';
      who.textContent = `${own ? `${msg.name} (you)` : msg.name}:`;
      const text = document.createElement('span');
      text.className = 'text';
      text.textContent = msg.text;
      li.append(who, text);
      if (msg.room && msg.room !== room) li.append(` (#${msg.room})`);
      if (own) {
        const meta = document.createElement('span');
        meta.className = 'meta';
        li.append(meta);
      }
    });
  }

  function updateControls() {
    const inRoom = room !== null && socket.connected;
    ui.text.disabled = !inRoom;
    ui.send.disabled = !inRoom;
    ui.join.disabled = joining;
    ui.text.placeholder = inRoom ? `Message #${room}` : 'Join a room to chat';
    document.body.dataset.room = room ?? '';
  }

  /** Emits with an acknowledgement; resolves with the answer, rejects on timeout. */
  function emitAck(event, ...args) {
    return new Promise((resolve, reject) => {
      socket.timeout(ACK_TIMEOUT_MS).emit(event, ...args, (err, res) => (err ? reject(err) : resolve(res)));
    });
  }

  /** Resolves with the {ok:true,...} answer; rejects with the server's error otherwise. */
  async function request(event, ...args) {
    const res = await emitAck(event, ...args);
    if (!res || res.ok !== true) throw new Error((res && res.error) || 'refused');
    return res;
  }

  function announce(action, where) {
    socket.emit('presence', { name: myName(), room: where, action });
  }

  async function join(target) {
    joining = true;
    updateControls();
    try {
      if (room !== null && room !== target) {
        const old = room;
        announce('leave', old); // while the others can still hear it
        room = null;
        await request('leave', old);
        logLine('system', `You left #${old}.`);
      }
      if (room === target) return;
      await request('join', target);
      room = target;
      rejoin = target;
      logLine('system', `You joined #${target} as ${myName()}.`);
      announce('join', target);
    } catch (err) {
      logLine('error', `Could not join #${target}: ${err.message}`);
    } finally {
      joining = false;
      updateControls();
    }
  }

  ui.joinForm.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const target = ui.room.value.trim();
    if (!target) return;
    join(target);
  });

  ui.sendForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = ui.text.value.trim();
    if (!text || room === null) return;
    const msg = { name: myName(), text, room, ts: Date.now() };
    ui.text.value = '';
    const li = logChat(msg, true); // the server relays to the others only
    const meta = li.querySelector('.meta');
    meta.textContent = 'sending…';
    try {
      const res = await request('chat', msg);
      li.dataset.delivered = String(res.delivered);
      meta.textContent = `delivered to ${res.delivered}`;
    } catch (err) {
      li.classList.add('error');
      meta.textContent = `not sent: ${err.message}`;
    }
    ui.text.focus();
  });

  socket.on('chat', (msg) => {
    if (!msg || typeof msg.text !== 'string') return;
    logChat({ name: String(msg.name ?? 'anonymous'), text: msg.text, room: msg.room, ts: msg.ts }, false);
  });

  socket.on('presence', (p) => {
    if (!p || typeof p.name !== 'string') return;
    const verb = p.action === 'leave' ? 'left' : 'joined';
    logLine('presence', `${p.name} ${verb}${p.room ? ` #${p.room}` : ''}.`);
  });

  socket.on('connect', () => {
    setStatus('connected', 'Connected.');
    updateControls();
    if (rejoin !== null && room === null) join(rejoin);
  });

  socket.on('disconnect', (reason) => {
    room = null;
    setStatus('disconnected', `Disconnected (${reason}).${socket.active ? ' Reconnecting…' : ''}`);
    updateControls();
  });

  socket.on('connect_error', (err) => {
    setStatus('error', `Cannot connect: ${err.message}${socket.active ? ' (retrying)' : ''}`);
  });

  updateControls();
})();
