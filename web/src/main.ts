// The roomcast web client: several rooms over one Socket.IO connection, an unread badge per room,
// edits, deletions and reactions, and the online count from the Stats API.
// User-supplied text (names, messages, emoji) is only ever set as textContent, never parsed as HTML.
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
  AckResultOf,
  ClientToServerEvents,
  JoinResult,
  ServerToClientEvents,
} from '@roomcast/contracts/socket-events';
import type {
  Message,
  PresenceNotice,
  ReadNotice,
  TypingNotice,
  Update,
  User,
} from '@roomcast/contracts/types';
import { applyUpdate, badgeText, reactionOf } from './room-state';
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
/** Move the read cursor this long after what is in view last changed (one call, not one per message). */
const READ_DEBOUNCE_MS = 300;
/** A join without `sinceSeq` answers this many messages at most; "load older" pages by as many. */
const HISTORY_PAGE = 50;
/** A rejoin's catch-up pages (`room:history { afterSeq }`), and at most this many of them. */
const CATCH_UP_PAGE = 100;
const CATCH_UP_MAX_PAGES = 50;
/** The reactions every message offers; others (sent by other clients) show once someone used them. */
const EMOJI = ['👍', '❤️', '😂'];

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
  roomList: byTestId<HTMLUListElement>('room-list'),
  roomTitle: byTestId('room-title'),
  status: byTestId('status'),
  online: byTestId('online'),
  loadOlder: byTestId<HTMLButtonElement>('load-older'),
  messages: byTestId<HTMLOListElement>('messages'),
  members: byTestId<HTMLUListElement>('members'),
  typing: byTestId('typing'),
  sendForm: byTestId<HTMLFormElement>('send-form'),
  text: byTestId<HTMLInputElement>('text'),
  send: byTestId<HTMLButtonElement>('send'),
  error: byTestId('error'),
};

/** What the client holds of one joined room, whether it is the one shown or not. */
interface Room {
  name: string;
  /** By message id, in their current state (edits, deletions and reactions applied). */
  messages: Map<string, Message>;
  /** My own reactions, by message id: what the join and history acks say, then my updates. */
  mine: Map<string, Set<string>>;
  /** The highest seq seen, messages and updates alike: a rejoin asks for what came after it. */
  lastSeq: number;
  /** Joined on the current connection (acked ok since the last connect). */
  joined: boolean;
  /** The user's read cursor as the server last gave it. */
  readSeq: number;
  /** The highest seq this page asked `room:read` for (0: none since the cursor last came in). */
  readAsked: number;
  unread: number;
  /** Older messages may be retained before the oldest shown. */
  hasOlder: boolean;
  loadingOlder: boolean;
  /** Shown above the messages, e.g. when retention lost some of what was missed. */
  notice: string;
  members: Map<string, User>;
  typers: Map<string, { user: User; timer: number }>;
  entry: HTMLLIElement;
  badge: HTMLElement;
}

let socket: Socket | undefined;
let myName = '';
/**
 * My user id, once known: from the join ack's members (open mode: one name is one user) or from
 * a message whose id a `message:send` ack gave. Until then "mine" is decided by the name.
 */
let me: string | undefined;
/** Ids of the messages this page sent (from their acks), to learn `me` from their events. */
const sentIds = new Set<string>();
const rooms = new Map<string, Room>();
/** The room shown, if any. */
let current: Room | undefined;
/** The message elements of the room shown, by message id. */
const nodes = new Map<string, HTMLLIElement>();
/** The inline edit under way, kept across re-renders of its message. */
let editing:
  { room: string; id: string; form: HTMLFormElement; input: HTMLInputElement } | undefined;
/** The room told "typing: true" last, until told false. */
let typingIn: string | undefined;
let typingIdle: number | undefined;
let readTimer: number | undefined;
/** The unacknowledged send, so that retrying the same text to the same room reuses its clientId. */
let pending: { room: string; text: string; clientId: string } | undefined;

function el(tag: string, className: string, text: string, testId?: string): HTMLElement {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  if (testId) node.dataset.testid = testId;
  return node;
}

function button(text: string, testId: string, onClick: () => void): HTMLButtonElement {
  const b = el('button', testId, text, testId) as HTMLButtonElement;
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}

function setStatus(text: string): void {
  ui.status.textContent = text;
}

function showError(text: string): void {
  ui.error.textContent = text;
}

function newClientId(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** Sends `event` and waits for its ack; no answer in time is an `UNAVAILABLE` ack. */
async function call<E extends keyof ClientToServerEvents>(
  s: Socket,
  event: E,
  payload: Parameters<ClientToServerEvents[E]>[0],
): Promise<Ack<AckResultOf<E>>> {
  const timed = s.timeout(ACK_TIMEOUT_MS);
  // socket.io-client cannot infer the ack of a generic event name: the contract's map says it.
  const emit = timed.emitWithAck.bind(timed) as (
    e: E,
    p: Parameters<ClientToServerEvents[E]>[0],
  ) => Promise<Ack<AckResultOf<E>>>;
  try {
    return await emit(event, payload);
  } catch {
    return { ok: false, error: { code: ErrorCode.Unavailable, message: 'no answer' } };
  }
}

function isMine(user: User): boolean {
  return me !== undefined ? user.id === me : user.name === myName;
}

function learnMe(id: string): void {
  if (me === id) return;
  me = id;
  if (current) renderView();
}

/** The room is on screen: selected, and the tab visible. */
function viewing(r: Room): boolean {
  return r === current && document.visibilityState === 'visible';
}

// ---- the room list ----------------------------------------------------------------------------

function addRoom(name: string): Room {
  const entry = el('li', 'room', '', 'room-entry') as HTMLLIElement;
  entry.dataset.room = name;
  const badge = el('span', 'badge', '', 'room-badge');
  badge.hidden = true;
  const r: Room = {
    name,
    messages: new Map(),
    mine: new Map(),
    lastSeq: 0,
    joined: false,
    readSeq: 0,
    readAsked: 0,
    unread: 0,
    hasOlder: false,
    loadingOlder: false,
    notice: '',
    members: new Map(),
    typers: new Map(),
    entry,
    badge,
  };
  entry.append(
    button(`#${name}`, 'room-open', () => select(r)),
    badge,
  );
  rooms.set(name, r);
  ui.roomList.append(entry);
  return r;
}

function removeRoom(r: Room): void {
  rooms.delete(r.name);
  r.entry.remove();
  for (const t of r.typers.values()) clearTimeout(t.timer);
  if (current === r) {
    current = undefined;
    const next = rooms.values().next();
    if (!next.done) select(next.value);
    else ui.chat.hidden = true;
  }
}

function setUnread(r: Room, unread: number): void {
  r.unread = Math.max(0, unread);
  const text = badgeText(r.unread);
  r.badge.textContent = text;
  r.badge.hidden = text === '';
  r.entry.dataset.unread = String(r.unread);
}

function applyCursor(r: Room, notice: ReadNotice): void {
  r.readSeq = notice.readSeq;
  if (r.readAsked <= notice.readSeq) r.readAsked = 0;
  setUnread(r, notice.unread);
}

// ---- the room shown ---------------------------------------------------------------------------

function select(r: Room): void {
  if (current === r) return scheduleRead();
  sendTyping(false);
  current = r;
  for (const room of rooms.values()) {
    room.entry.classList.toggle('selected', room === r);
    if (room === r) room.entry.setAttribute('aria-current', 'true');
    else room.entry.removeAttribute('aria-current');
  }
  ui.chat.hidden = false;
  ui.roomTitle.textContent = `#${r.name}`;
  renderView();
  renderMembers();
  renderTyping();
  ui.messages.scrollTop = ui.messages.scrollHeight;
  scheduleRead();
}

/** Rebuilds the shown room's message list from what the client holds. */
function renderView(): void {
  nodes.clear();
  const r = current;
  if (!r) return;
  const stick = atBottom();
  const top = ui.messages.scrollTop;
  const items: HTMLElement[] = [];
  if (r.notice) items.push(el('li', 'notice', r.notice, 'notice'));
  const sorted = [...r.messages.values()].sort((a, b) => a.seq - b.seq);
  for (const m of sorted) {
    const li = renderMessage(r, m);
    nodes.set(m.id, li);
    items.push(li);
  }
  ui.messages.replaceChildren(...items);
  ui.messages.scrollTop = stick ? ui.messages.scrollHeight : top;
  ui.loadOlder.hidden = !r.hasOlder;
  ui.loadOlder.disabled = r.loadingOlder;
}

function atBottom(): boolean {
  return ui.messages.scrollTop + ui.messages.clientHeight >= ui.messages.scrollHeight - 30;
}

function renderMessage(r: Room, m: Message): HTMLLIElement {
  const li = el('li', 'message', '', 'message') as HTMLLIElement;
  li.dataset.id = m.id;
  li.dataset.seq = String(m.seq);
  const mine = isMine(m.user);
  if (mine) li.classList.add('mine');
  li.append(el('span', 'user', m.user.name, 'message-user'));
  if (m.deleted) {
    li.classList.add('deleted');
    li.dataset.deleted = 'true';
    li.append(el('span', 'text', 'message deleted', 'message-text'));
  } else if (editing?.room === r.name && editing.id === m.id) {
    li.append(editing.form);
  } else {
    li.append(el('span', 'text', m.text, 'message-text'));
    if (m.editedAt !== undefined) li.append(el('span', 'edited', '(edited)', 'message-edited'));
  }
  const meta = el('span', 'meta', `#${m.seq} · ${new Date(m.ts).toLocaleTimeString()} · via `);
  meta.append(el('span', 'server', m.serverId, 'message-server'));
  li.append(meta);
  if (m.deleted) return li;

  const actions = el('span', 'actions', '');
  const shownEmoji = [
    ...EMOJI,
    ...Object.keys(m.reactions ?? {}).filter((e) => !EMOJI.includes(e)),
  ];
  for (const emoji of shownEmoji) {
    const { count } = reactionOf(m, emoji);
    const on = r.mine.get(m.id)?.has(emoji) ?? false;
    const b = button(emoji, 'react', () => void react(r, m.id, emoji, !on));
    b.dataset.emoji = emoji;
    b.setAttribute('aria-pressed', String(on));
    b.classList.toggle('on', on);
    b.title = on ? `take back ${emoji}` : `react ${emoji}`;
    b.append(el('span', 'count', count > 0 ? String(count) : '', 'reaction-count'));
    actions.append(b);
  }
  if (mine && !(editing?.room === r.name && editing.id === m.id)) {
    actions.append(
      button('edit', 'edit', () => startEdit(r, m)),
      button('delete', 'delete', () => void remove(r, m.id)),
    );
  }
  li.append(actions);
  return li;
}

/** Puts `m`'s element where its seq belongs in the shown list, or replaces it there. */
function showMessage(r: Room, m: Message): void {
  if (r !== current) return;
  const li = renderMessage(r, m);
  const old = nodes.get(m.id);
  nodes.set(m.id, li);
  if (old) return old.replaceWith(li);
  // History and live messages may interleave around a (re)join: keep the list in seq order.
  let after = ui.messages.lastElementChild as HTMLElement | null;
  while (after && Number(after.dataset.seq) > m.seq) {
    after = after.previousElementSibling as HTMLElement | null;
  }
  const stick = atBottom();
  ui.messages.insertBefore(li, after ? after.nextSibling : ui.messages.firstChild);
  if (stick) ui.messages.scrollTop = ui.messages.scrollHeight;
}

/** Takes `m` (live, or from history in its current state) into the room; true if it is new. */
function mergeMessage(r: Room, m: Message): boolean {
  const isNew = !r.messages.has(m.id);
  r.messages.set(m.id, m);
  r.lastSeq = Math.max(r.lastSeq, m.seq);
  if (sentIds.has(m.id)) learnMe(m.user.id);
  showMessage(r, m);
  return isNew;
}

/** My own reactions on `messages` as an ack gives them (`mine`), before they are shown. */
function takeMine(r: Room, messages: Message[], mine: Record<string, string[]>): void {
  for (const m of messages) {
    const own = Object.hasOwn(mine, m.id) ? mine[m.id] : [];
    if (own.length > 0) r.mine.set(m.id, new Set(own));
    else r.mine.delete(m.id);
  }
}

function mergeUpdate(r: Room, u: Update): void {
  r.lastSeq = Math.max(r.lastSeq, u.seq);
  const m = r.messages.get(u.id);
  if (!m) return; // not shown (older than what the client holds): nothing to change
  if (u.kind === 'react' && u.emoji !== undefined && me !== undefined && u.user.id === me) {
    const own = r.mine.get(u.id) ?? new Set<string>();
    if (u.on) own.add(u.emoji);
    else own.delete(u.emoji);
    r.mine.set(u.id, own);
  }
  const next = applyUpdate(m, u);
  if (next === m) return;
  if (next.deleted && editing?.room === r.name && editing.id === m.id) editing = undefined;
  r.messages.set(m.id, next);
  showMessage(r, next);
}

function renderMembers(): void {
  const r = current;
  const sorted = r ? [...r.members.values()].sort((a, b) => a.name.localeCompare(b.name)) : [];
  ui.members.replaceChildren(
    ...sorted.map((u) => el('li', isMine(u) ? 'me' : '', u.name, 'member')),
  );
}

function renderTyping(): void {
  const names = current ? [...current.typers.values()].map((t) => t.user.name) : [];
  ui.typing.textContent =
    names.length === 0 ? '' : `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing…`;
}

function stopTyping(r: Room, userId: string): void {
  const t = r.typers.get(userId);
  if (!t) return;
  clearTimeout(t.timer);
  r.typers.delete(userId);
  if (r === current) renderTyping();
}

function sendTyping(typing: boolean): void {
  const target = typing ? current?.name : undefined;
  if (typingIn === target) return;
  if (typingIn !== undefined && socket?.connected) {
    socket.emit(ClientEvent.Typing, { room: typingIn, typing: false });
  }
  typingIn = undefined;
  if (target !== undefined && socket?.connected && current?.joined) {
    socket.emit(ClientEvent.Typing, { room: target, typing: true });
    typingIn = target;
  }
}

// ---- the read cursor --------------------------------------------------------------------------

/** Moves the cursor soon if the room shown has messages in view past it. */
function scheduleRead(): void {
  if (!current || !viewing(current)) return;
  clearTimeout(readTimer);
  readTimer = window.setTimeout(() => void flushRead(), READ_DEBOUNCE_MS);
}

/** The highest seq of a message element the list shows (scrolled into view), or 0. */
function highestSeqInView(): number {
  const box = ui.messages.getBoundingClientRect();
  if (box.height === 0) return 0;
  for (let li = ui.messages.lastElementChild; li; li = li.previousElementSibling) {
    const seq = Number((li as HTMLElement).dataset.seq);
    if (Number.isFinite(seq) && li.getBoundingClientRect().top < box.bottom) return seq;
  }
  return 0;
}

async function flushRead(): Promise<void> {
  const r = current;
  const s = socket;
  if (!r || !s?.connected || !r.joined || !viewing(r)) return;
  const seq = highestSeqInView();
  if (seq <= Math.max(r.readSeq, r.readAsked)) return;
  r.readAsked = seq;
  const ack = await call(s, ClientEvent.Read, { room: r.name, seq });
  if (!rooms.has(r.name)) return;
  if (!ack.ok) {
    if (r.readAsked === seq) r.readAsked = 0; // asked again when the view next changes
    return showError(`cannot mark ${r.name} read: ${ack.error.message} (${ack.error.code})`);
  }
  applyCursor(r, ack);
}

/**
 * Sets every joined room's badge from `rooms:unread`. A message from another user that arrived
 * after the server counted (seq past the room's `lastSeq` there) is added on top, since the live
 * event already counted it and the answer just overwrote that.
 */
async function refreshUnread(s: Socket): Promise<void> {
  const ack = await call(s, ClientEvent.Unread, {});
  if (!ack.ok)
    return showError(`cannot read unread counts: ${ack.error.message} (${ack.error.code})`);
  for (const u of ack.rooms) {
    const r = rooms.get(u.room);
    if (!r) continue;
    const since = Math.max(u.lastSeq, u.readSeq);
    let later = 0;
    for (const m of r.messages.values()) if (m.seq > since && !isMine(m.user)) later++;
    applyCursor(r, { room: u.room, readSeq: u.readSeq, unread: u.unread + later });
  }
  scheduleRead();
}

// ---- joining ----------------------------------------------------------------------------------

/**
 * Joins `r`; after a reconnect, asks only for what came after the highest seq seen, applies the
 * updates to what is shown, and reloads the room if retention lost part of what was missed.
 * False if the room was refused (and dropped).
 */
async function join(s: Socket, r: Room): Promise<boolean> {
  const sinceSeq = r.lastSeq > 0 ? r.lastSeq : undefined;
  const ack = await call(
    s,
    ClientEvent.Join,
    sinceSeq === undefined ? { room: r.name } : { room: r.name, sinceSeq },
  );
  if (s !== socket || !rooms.has(r.name)) return false;
  if (!ack.ok && ack.error.code === ErrorCode.Unavailable) {
    setStatus(`cannot join ${r.name} yet (${ack.error.message}), retrying…`);
    setTimeout(() => {
      if (s === socket && s.connected && rooms.has(r.name) && !r.joined) {
        void joinAndCount(s, r);
      }
    }, REJOIN_RETRY_MS);
    return false;
  }
  if (!ack.ok) {
    showError(`cannot join ${r.name}: ${ack.error.message} (${ack.error.code})`);
    removeRoom(r);
    if (rooms.size === 0) disconnect();
    return false;
  }
  showError('');
  r.joined = true;
  applyJoin(r, ack, sinceSeq);
  const before = r.messages.size;
  takeMine(r, ack.history, ack.mine);
  for (const m of ack.history) mergeMessage(r, m);
  for (const u of ack.updates) mergeUpdate(r, u);
  const lastInHistory = ack.history.at(-1);
  if (ack.more && lastInHistory) await catchUp(s, r, lastInHistory.seq);
  const added = r.messages.size - before;
  if (!current) select(r);
  ui.chat.hidden = false;
  setStatus(
    sinceSeq === undefined
      ? `joined ${r.name}`
      : `rejoined ${r.name} since #${sinceSeq}: ${added} missed`,
  );
  scheduleRead();
  void refreshStats();
  return true;
}

/** Joins one more room, then reads the badges again (PROTOCOL.md: after each join). */
async function joinAndCount(s: Socket, r: Room): Promise<void> {
  if (await join(s, r)) await refreshUnread(s);
}

/** Members, cursor and badge from the join ack; a fresh start when the catch-up is incomplete. */
function applyJoin(r: Room, ack: JoinResult, sinceSeq: number | undefined): void {
  r.members.clear();
  for (const u of ack.members) {
    r.members.set(u.id, u);
    // Open mode: the same name is the same user, so the member with my name is me.
    if (u.name === myName) learnMe(u.id);
  }
  if (r === current) renderMembers();
  if (sinceSeq === undefined || !ack.complete) {
    if (sinceSeq !== undefined) {
      // Retention lost some of what was missed (or the room's counter started over): what is
      // shown cannot be brought up to date, so it is replaced by the room as it is now.
      r.messages.clear();
      r.lastSeq = 0;
      // Or what changed was too much for one ack: either way what it held before can be loaded
      // again, in its current state, with "load older".
      r.notice = 'what changed while you were away could not all be replayed: reloaded';
    }
    r.hasOlder = sinceSeq !== undefined || ack.history.length >= HISTORY_PAGE;
    if (r === current) renderView();
  }
  r.readAsked = 0;
  applyCursor(r, { room: r.name, readSeq: ack.readSeq, unread: ack.unread });
}

/** A rejoin gets at most 100 messages with `more`: the rest come page by page (bounded). */
async function catchUp(s: Socket, r: Room, afterSeq: number): Promise<void> {
  for (let page = 0; page < CATCH_UP_MAX_PAGES; page++) {
    const ack = await call(s, ClientEvent.History, {
      room: r.name,
      afterSeq,
      limit: CATCH_UP_PAGE,
    });
    if (!ack.ok) {
      return showError(`cannot catch up on ${r.name}: ${ack.error.message} (${ack.error.code})`);
    }
    takeMine(r, ack.messages, ack.mine);
    for (const m of ack.messages) mergeMessage(r, m);
    const last = ack.messages.at(-1);
    if (!last || ack.messages.length < CATCH_UP_PAGE) return;
    afterSeq = last.seq;
  }
}

async function loadOlder(r: Room): Promise<void> {
  const s = socket;
  if (!s?.connected || r.loadingOlder) return;
  let oldest = Infinity;
  for (const m of r.messages.values()) oldest = Math.min(oldest, m.seq);
  r.loadingOlder = true;
  ui.loadOlder.disabled = true;
  const ack = await call(
    s,
    ClientEvent.History,
    Number.isFinite(oldest)
      ? { room: r.name, beforeSeq: oldest, limit: HISTORY_PAGE }
      : { room: r.name, limit: HISTORY_PAGE },
  );
  r.loadingOlder = false;
  if (r === current) ui.loadOlder.disabled = false;
  if (!ack.ok) return showError(`cannot load older: ${ack.error.message} (${ack.error.code})`);
  // Keep what the reader looks at in place while older messages go in above it.
  const height = ui.messages.scrollHeight;
  takeMine(r, ack.messages, ack.mine);
  for (const m of ack.messages) if (m.seq < oldest) mergeMessage(r, m);
  r.hasOlder = ack.messages.length >= HISTORY_PAGE;
  if (r === current) {
    ui.messages.scrollTop += ui.messages.scrollHeight - height;
    ui.loadOlder.hidden = !r.hasOlder;
  }
}

// ---- edits, deletions and reactions -----------------------------------------------------------

function startEdit(r: Room, m: Message): void {
  if (editing) cancelEdit();
  const form = el('form', 'edit-form', '', 'edit-form') as HTMLFormElement;
  const input = el('input', '', '', 'edit-text') as HTMLInputElement;
  input.maxLength = 4000;
  input.value = m.text;
  const save = el('button', '', 'save', 'edit-save') as HTMLButtonElement;
  save.type = 'submit';
  form.append(
    input,
    save,
    button('cancel', 'edit-cancel', () => cancelEdit()),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void saveEdit(r, m.id, input.value);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') cancelEdit();
  });
  editing = { room: r.name, id: m.id, form, input };
  showMessage(r, r.messages.get(m.id) ?? m);
  input.focus();
}

function cancelEdit(): void {
  const e = editing;
  if (!e) return;
  editing = undefined;
  const r = rooms.get(e.room);
  const m = r?.messages.get(e.id);
  if (r && m) showMessage(r, m);
}

async function saveEdit(r: Room, id: string, text: string): Promise<void> {
  const m = r.messages.get(id);
  if (!socket || !m) return;
  if (text.trim() === '') return showError('an edit needs some text (or delete the message)');
  if (text === m.text) return cancelEdit();
  const ack = await call(socket, ClientEvent.Edit, { room: r.name, id, text });
  if (!ack.ok) return showError(`not edited: ${ack.error.message} (${ack.error.code})`);
  showError('');
  // The new text comes with the `message:update` event, to every member alike.
  if (editing?.room === r.name && editing.id === id) cancelEdit();
}

async function remove(r: Room, id: string): Promise<void> {
  if (!socket) return;
  const ack = await call(socket, ClientEvent.Delete, { room: r.name, id });
  if (!ack.ok) return showError(`not deleted: ${ack.error.message} (${ack.error.code})`);
  showError('');
}

async function react(r: Room, id: string, emoji: string, on: boolean): Promise<void> {
  if (!socket) return;
  const ack = await call(socket, ClientEvent.React, { room: r.name, id, emoji, on });
  if (!ack.ok) return showError(`reaction not sent: ${ack.error.message} (${ack.error.code})`);
  showError('');
}

// ---- the connection ---------------------------------------------------------------------------

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

/** Joins every room in the list (one by one, in list order), then reads the badges. */
async function joinAll(s: Socket): Promise<void> {
  for (const r of [...rooms.values()]) {
    if (s !== socket || !s.connected) return;
    await join(s, r);
  }
  if (s === socket && s.connected && rooms.size > 0) await refreshUnread(s);
}

/** Back to the join form's first state: no connection, the name editable again. */
function disconnect(): void {
  socket?.close();
  socket = undefined;
  me = undefined;
  ui.name.disabled = false;
}

function connect(): void {
  const s = io(serverUrl, { auth: { name: myName } });
  socket = s;
  ui.name.disabled = true;
  setStatus('connecting…');
  s.on('connect', () => void joinAll(s));
  s.on('disconnect', (reason) => {
    setStatus(`disconnected (${reason}), reconnecting…`);
    typingIn = undefined;
    for (const r of rooms.values()) {
      r.joined = false;
      for (const id of [...r.typers.keys()]) stopTyping(r, id);
    }
    // Socket.IO retries by itself except when the server closed the socket on purpose.
    if (reason === 'io server disconnect') {
      setTimeout(() => s === socket && s.connect(), REJOIN_RETRY_MS);
    }
  });
  s.on('connect_error', (err) => {
    if (s.active) {
      setStatus(`cannot reach the server (${err.message}), retrying…`);
      return;
    }
    // Refused by the server (e.g. a bad name): no retry.
    showError(`connection refused: ${err.message}`);
    disconnect();
    for (const r of [...rooms.values()]) removeRoom(r);
  });
  s.on(ServerEvent.Message, (m: Message) => {
    const r = rooms.get(m.room);
    if (!r) return;
    const isNew = mergeMessage(r, m);
    stopTyping(r, m.user.id);
    if (viewing(r)) scheduleRead();
    else if (isNew && !isMine(m.user)) setUnread(r, r.unread + 1);
  });
  s.on(ServerEvent.Update, (u: Update) => {
    const r = rooms.get(u.room);
    if (r) mergeUpdate(r, u);
  });
  s.on(ServerEvent.Read, (notice: ReadNotice) => {
    const r = rooms.get(notice.room);
    if (!r) return;
    applyCursor(r, notice);
    scheduleRead();
  });
  s.on(ServerEvent.Presence, (p: PresenceNotice) => {
    const r = rooms.get(p.room);
    if (!r) return;
    if (p.event === 'join') r.members.set(p.user.id, p.user);
    else {
      r.members.delete(p.user.id);
      stopTyping(r, p.user.id);
    }
    if (r === current) renderMembers();
  });
  s.on(ServerEvent.Typing, (t: TypingNotice) => {
    const r = rooms.get(t.room);
    if (!r) return;
    stopTyping(r, t.user.id);
    if (!t.typing) return;
    const timer = window.setTimeout(() => stopTyping(r, t.user.id), TYPING_SHOW_MS);
    r.typers.set(t.user.id, { user: t.user, timer });
    if (r === current) renderTyping();
  });
}

ui.joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const name = ui.name.value.trim();
  const roomName = ui.room.value.trim();
  if (!socket && !name) return showError('pick a name');
  if (!isValidRoomName(roomName)) return showError('a room name is 1-64 of A-Z a-z 0-9 _ -');
  showError('');
  const known = rooms.get(roomName);
  if (known) return select(known);
  const r = addRoom(roomName);
  if (!socket) {
    myName = name;
    connect(); // joins every room in the list once connected
    return;
  }
  // Shown at once; joined now if connected, else with the others on the next connect.
  select(r);
  const s = socket;
  if (s.connected) void joinAndCount(s, r);
});

ui.loadOlder.addEventListener('click', () => current && void loadOlder(current));
ui.messages.addEventListener('scroll', () => scheduleRead());
document.addEventListener('visibilitychange', () => scheduleRead());
window.addEventListener('focus', () => scheduleRead());

ui.text.addEventListener('input', () => {
  sendTyping(ui.text.value.trim() !== '');
  clearTimeout(typingIdle);
  typingIdle = window.setTimeout(() => sendTyping(false), TYPING_IDLE_MS);
});

ui.sendForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = ui.text.value;
  const r = current;
  const s = socket;
  if (!s || !r || !text.trim()) return;
  if (pending?.text !== text || pending.room !== r.name) {
    pending = { room: r.name, text, clientId: newClientId() };
  }
  const { clientId } = pending;
  clearTimeout(typingIdle);
  sendTyping(false);
  ui.send.disabled = true;
  void call(s, ClientEvent.Send, { room: r.name, text, clientId })
    .then((ack) => {
      if (!ack.ok) {
        const retry = ack.error.code === ErrorCode.Unavailable ? '; send again to retry' : '';
        return showError(`not sent: ${ack.error.message} (${ack.error.code})${retry}`);
      }
      showError('');
      pending = undefined;
      if (ui.text.value === text) ui.text.value = '';
      // The message event may have come first: then it tells who "me" is now.
      sentIds.add(ack.id);
      const m = r.messages.get(ack.id);
      if (m) learnMe(m.user.id);
      // Sending moves my cursor to the message (PROTOCOL.md).
      if (ack.seq > r.readSeq) r.readSeq = ack.seq;
    })
    .finally(() => {
      ui.send.disabled = false;
      ui.text.focus();
    });
});

void refreshStats();
setInterval(() => void refreshStats(), STATS_POLL_MS);
