// The roomcast web client: one room at a time over Socket.IO, the online count from the Stats API.
// User-supplied text (names, messages) is only ever set as textContent, never parsed as HTML.
//
// Query parameters:
//   ?server=http://127.0.0.1:3002  the Socket.IO server (a gateway); default: this page's origin
//   ?stats=http://127.0.0.1:3000   the Stats API base; default: this page's origin (nginx routes
//                                  /stats; a gateway does not, so a page a gateway serves needs it)
import { io, type Socket as IoSocket } from 'socket.io-client';

/** The socket typed by the contract: event names, payloads and ack results are checked. */
type Socket = IoSocket<ServerToClientEvents, ClientToServerEvents>;
import { ErrorCode, type Ack } from '@roomcast/contracts/errors';
import { ClientEvent, ServerEvent } from '@roomcast/contracts/events';
import { isValidRoomName } from '@roomcast/contracts/routing';
import type {
  ClientToServerEvents,
  HistoryResult,
  JoinResult,
  SendResult,
  ServerToClientEvents,
} from '@roomcast/contracts/socket-events';
import type { Message, PresenceNotice, TypingNotice, User } from '@roomcast/contracts/types';
import './style.css';

interface Stats {
  online: number;
  connections: number;
}

const ACK_TIMEOUT_MS = 5000;
const REJOIN_RETRY_MS = 2000;
const STATS_POLL_MS = 2000;
/** Stop saying "typing" this long after the last keystroke. */
const TYPING_IDLE_MS = 2000;
/** Forget someone's "typing" after this long without news (the stop may have been dropped). */
const TYPING_SHOW_MS = 6000;

const params = new URLSearchParams(location.search);
const serverUrl = params.get('server') || undefined;
const statsBase = (params.get('stats') ?? '').replace(/\/+$/, '');

function byTestId<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.querySelector<T>(`[data-testid="${id}"]`);
  if (!found) throw new Error(`index.html has no [data-testid="${id}"]`);
  return found;
}

const ui = {
  joinForm: byTestId<HTMLFormElement>('join-form'),
  name: byTestId<HTMLInputElement>('name'),
  room: byTestId<HTMLInputElement>('room'),
  chat: byTestId('chat'),
  roomTitle: byTestId('room-title'),
  status: byTestId('status'),
  online: byTestId('online'),
  messages: byTestId<HTMLOListElement>('messages'),
  members: byTestId<HTMLUListElement>('members'),
  typing: byTestId('typing'),
  sendForm: byTestId<HTMLFormElement>('send-form'),
  text: byTestId<HTMLInputElement>('text'),
  send: byTestId<HTMLButtonElement>('send'),
  error: byTestId('error'),
};

let socket: Socket | undefined;
let myName = '';
let room = '';
/** The highest seq shown: a rejoin asks for what came after it. */
let lastSeq = 0;
const shown = new Set<number>();
const members = new Map<string, User>();
const typers = new Map<string, { user: User; timer: number }>();
let typingSent = false;
let typingIdle: number | undefined;
/** The unacknowledged send, so that retrying the same text reuses its clientId. */
let pending: { text: string; clientId: string } | undefined;

function el(tag: string, className: string, text: string, testId?: string): HTMLElement {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  if (testId) node.dataset.testid = testId;
  return node;
}

function setStatus(text: string): void {
  ui.status.textContent = text;
}

function showError(text: string): void {
  ui.error.textContent = text;
}

function addMessage(m: Message): void {
  if (shown.has(m.seq)) return;
  shown.add(m.seq);
  lastSeq = Math.max(lastSeq, m.seq);
  const li = el('li', 'message', '', 'message');
  li.dataset.seq = String(m.seq);
  const meta = el('span', 'meta', `#${m.seq} · ${new Date(m.ts).toLocaleTimeString()} · via `);
  meta.append(el('span', 'server', m.serverId, 'message-server'));
  li.append(
    el('span', 'user', m.user.name, 'message-user'),
    el('span', 'text', m.text, 'message-text'),
    meta,
  );
  // History and live messages may interleave around a (re)join: keep the list in seq order.
  let after = ui.messages.lastElementChild as HTMLElement | null;
  while (after && Number(after.dataset.seq) > m.seq) {
    after = after.previousElementSibling as HTMLElement | null;
  }
  const stick = ui.messages.scrollTop + ui.messages.clientHeight >= ui.messages.scrollHeight - 30;
  ui.messages.insertBefore(li, after ? after.nextSibling : ui.messages.firstChild);
  if (stick) ui.messages.scrollTop = ui.messages.scrollHeight;
  stopTyping(m.user.id);
}

function addNotice(text: string): void {
  ui.messages.append(el('li', 'notice', text, 'notice'));
}

function renderMembers(): void {
  const sorted = [...members.values()].sort((a, b) => a.name.localeCompare(b.name));
  ui.members.replaceChildren(
    ...sorted.map((u) => el('li', u.name === myName ? 'me' : '', u.name, 'member')),
  );
}

function renderTyping(): void {
  const names = [...typers.values()].map((t) => t.user.name);
  ui.typing.textContent =
    names.length === 0 ? '' : `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing…`;
}

function stopTyping(userId: string): void {
  const t = typers.get(userId);
  if (!t) return;
  clearTimeout(t.timer);
  typers.delete(userId);
  renderTyping();
}

function sendTyping(typing: boolean): void {
  if (typingSent === typing || !socket?.connected) return;
  typingSent = typing;
  socket.emit(ClientEvent.Typing, { room, typing });
}

async function refreshStats(): Promise<void> {
  try {
    const res = await fetch(`${statsBase}/stats`);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const stats = (await res.json()) as Stats;
    ui.online.textContent = String(stats.online);
    ui.online.title = `${stats.connections} connections`;
  } catch {
    ui.online.textContent = '?';
  }
}

/** Joins `room`; after a reconnect, asks only for the messages after the last one shown. */
async function join(s: Socket): Promise<void> {
  const sinceSeq = lastSeq > 0 ? lastSeq : undefined;
  let ack: Ack<JoinResult>;
  try {
    ack = (await s
      .timeout(ACK_TIMEOUT_MS)
      .emitWithAck(
        ClientEvent.Join,
        sinceSeq === undefined ? { room } : { room, sinceSeq },
      )) as Ack<JoinResult>;
  } catch {
    ack = { ok: false, error: { code: ErrorCode.Unavailable, message: 'no answer' } };
  }
  if (!ack.ok && ack.error.code === ErrorCode.Unavailable) {
    setStatus(`cannot join yet (${ack.error.message}), retrying…`);
    setTimeout(() => s.connected && void join(s), REJOIN_RETRY_MS);
    return;
  }
  if (!ack.ok) {
    showError(`cannot join ${room}: ${ack.error.message} (${ack.error.code})`);
    s.close();
    socket = undefined;
    ui.joinForm.hidden = false;
    return;
  }
  showError('');
  members.clear();
  for (const u of ack.members) members.set(u.id, u);
  renderMembers();
  const before = shown.size;
  if (sinceSeq !== undefined && !ack.complete) {
    addNotice('some messages from while you were away are no longer kept');
  }
  for (const m of ack.history) addMessage(m);
  const lastInHistory = ack.history.at(-1);
  if (ack.more && lastInHistory) await fetchRest(s, lastInHistory.seq);
  ui.chat.hidden = false;
  ui.roomTitle.textContent = `#${room}`;
  setStatus(
    sinceSeq === undefined
      ? `joined ${room}`
      : `rejoined ${room} since #${sinceSeq}: ${shown.size - before} missed`,
  );
  void refreshStats();
}

/** A rejoin gets at most 100 messages with `more`: the rest come page by page (bounded). */
async function fetchRest(s: Socket, afterSeq: number): Promise<void> {
  const limit = 100;
  for (let page = 0; page < 50; page++) {
    let ack: Ack<HistoryResult>;
    try {
      ack = (await s
        .timeout(ACK_TIMEOUT_MS)
        .emitWithAck(ClientEvent.History, { room, afterSeq, limit })) as Ack<HistoryResult>;
    } catch {
      return;
    }
    if (!ack.ok) return;
    for (const m of ack.messages) addMessage(m);
    const last = ack.messages.at(-1);
    if (!last || ack.messages.length < limit) return;
    afterSeq = last.seq;
  }
}

function connect(): void {
  const s = io(serverUrl, { auth: { name: myName } });
  socket = s;
  setStatus('connecting…');
  s.on('connect', () => void join(s));
  s.on('disconnect', (reason) => {
    setStatus(`disconnected (${reason}), reconnecting…`);
    typingSent = false;
    for (const id of [...typers.keys()]) stopTyping(id);
    // Socket.IO retries by itself except when the server closed the socket on purpose.
    if (reason === 'io server disconnect') setTimeout(() => s.connect(), REJOIN_RETRY_MS);
  });
  s.on('connect_error', (err) => {
    if (s.active) {
      setStatus(`cannot reach the server (${err.message}), retrying…`);
      return;
    }
    // Refused by the server (e.g. a bad name): no retry.
    showError(`connection refused: ${err.message}`);
    socket = undefined;
    ui.joinForm.hidden = false;
  });
  s.on(ServerEvent.Message, (m: Message) => {
    if (m.room === room) addMessage(m);
  });
  s.on(ServerEvent.Presence, (p: PresenceNotice) => {
    if (p.room !== room) return;
    if (p.event === 'join') members.set(p.user.id, p.user);
    else {
      members.delete(p.user.id);
      stopTyping(p.user.id);
    }
    renderMembers();
  });
  s.on(ServerEvent.Typing, (t: TypingNotice) => {
    if (t.room !== room) return;
    stopTyping(t.user.id);
    if (!t.typing) return;
    const timer = window.setTimeout(() => stopTyping(t.user.id), TYPING_SHOW_MS);
    typers.set(t.user.id, { user: t.user, timer });
    renderTyping();
  });
}

ui.joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  myName = ui.name.value.trim();
  room = ui.room.value.trim();
  if (!myName) return showError('pick a name');
  if (!isValidRoomName(room)) return showError('a room name is 1-64 of A-Z a-z 0-9 _ -');
  showError('');
  ui.joinForm.hidden = true;
  connect();
});

ui.text.addEventListener('input', () => {
  sendTyping(ui.text.value.trim() !== '');
  clearTimeout(typingIdle);
  typingIdle = window.setTimeout(() => sendTyping(false), TYPING_IDLE_MS);
});

ui.sendForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = ui.text.value;
  if (!socket || !text.trim()) return;
  if (pending?.text !== text) {
    pending = {
      text,
      clientId: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`,
    };
  }
  const { clientId } = pending;
  clearTimeout(typingIdle);
  sendTyping(false);
  ui.send.disabled = true;
  socket
    .timeout(ACK_TIMEOUT_MS)
    .emitWithAck(ClientEvent.Send, { room, text, clientId })
    .then((ack: Ack<SendResult>) => {
      if (!ack.ok) return showError(`not sent: ${ack.error.message} (${ack.error.code})`);
      showError('');
      pending = undefined;
      if (ui.text.value === text) ui.text.value = '';
    })
    .catch(() => showError('not sent: no answer from the server; send again to retry'))
    .finally(() => {
      ui.send.disabled = false;
      ui.text.focus();
    });
});

void refreshStats();
setInterval(() => void refreshStats(), STATS_POLL_MS);
