// The roomcast web client: several rooms over one connection, an unread badge per room, edits,
// deletions and reactions, and the online count from the Stats API. The connection, the rejoins,
// the outbox and each room's state are @roomcast/client's; this file renders them and wires the
// page's controls to them. User-supplied text (names, messages, emoji) is only ever set as
// textContent, never parsed as HTML, and no seq number is ever shown (they stay in data-seq).
//
// Query parameters:
//   ?server=http://127.0.0.1:3002  the Socket.IO server (a gateway); default: this page's origin
//   ?stats=http://127.0.0.1:3000   the Stats API base; default: this page's origin (nginx routes
//                                  /stats; a gateway does not, so a page a gateway serves needs it)
import {
  createClient,
  indexedDbStorage,
  memoryStorage,
  type Client,
  type Op,
  type OutboxStorage,
  type ResetNotice,
  type Room,
  type RoomcastError,
  type RoomMessage,
  type RoomSnapshot,
  type RoomStatus,
  type User,
} from '@roomcast/client';
import { isValidRoomName } from '@roomcast/contracts/routing';
import { badgeText, reactionOf } from './room-state';
import './style.css';

interface Stats {
  online: number;
  connections: number;
}

const STATS_POLL_MS = 2000;
/** Stop saying "typing" this long after the last keystroke. */
const TYPING_IDLE_MS = 2000;
/** Forget someone's "typing" after this long without news (the stop may have been dropped). */
const TYPING_SHOW_MS = 6000;
/** Move the read cursor this long after what is in view last changed (one call, not one per message). */
const READ_DEBOUNCE_MS = 300;
/** A first join answers this many messages at most; "load older" pages by as many. */
const HISTORY_PAGE = 50;
/** Reconnects wait a random time up to this (full jitter): a person is waiting, not a batch job. */
const BACKOFF_CAP_MS = 10_000;
/** The reactions every message offers; others (sent by other clients) show once someone used them. */
const EMOJI = ['👍', '❤️', '😂'];

const params = new URLSearchParams(location.search);
const serverUrl = params.get('server') || location.origin;
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
  error: byTestId('error'),
};

/** What the page keeps of one room beside the SDK's Room: its list entry and what it shows. */
interface View {
  name: string;
  room: Room;
  /** The room's status when the page last looked: a change to `joined` is a (re)join. */
  status: RoomStatus;
  joinedBefore: boolean;
  /** Messages the room announced since it last lost its connection (or since it was added). */
  announced: number;
  /** Where retention (or a counter restart) lost messages: a notice goes there in the list. */
  gaps: ResetNotice[];
  hasOlder: boolean;
  loadingOlder: boolean;
  /** The highest seq this page asked `markRead` for (0: none). */
  readAsked: number;
  typers: Map<string, { user: User; timer: number }>;
  entry: HTMLLIElement;
  badge: HTMLElement;
  off: (() => void)[];
}

/** A rendered message element, reused while its message (and how it is drawn) stays the same. */
interface Drawn {
  m: RoomMessage;
  key: string;
  li: HTMLLIElement;
}

let client: Client | undefined;
let myName = '';
const views = new Map<string, View>();
/** The room shown, if any. */
let current: View | undefined;
/** The shown room's elements, by message id (a pending send's id is its clientId). */
let drawn = new Map<string, Drawn>();
/** The notices of the shown room's gaps, by the seq after which messages were lost. */
let gapNodes = new Map<number, HTMLLIElement>();
/** The inline edit under way, kept across re-renders of its message. */
let editing: { view: View; id: string; form: HTMLFormElement; input: HTMLInputElement } | undefined;
/** The room told "typing" last, until told it stopped. */
let typingIn: View | undefined;
let typingIdle: number | undefined;
let readTimer: number | undefined;
/** The room whose rejoin the status tells, since the connection last went (the shown one wins). */
let rejoinTold: View | undefined;

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

function explain(err: unknown): string {
  const e = err as Partial<RoomcastError>;
  return e.code ? `${e.message} (${e.code})` : String(err);
}

/** The signed-in user's id, once the server named it (the session). */
function myId(): string | undefined {
  return client?.getSnapshot().me?.id;
}

function isMine(user: User): boolean {
  const me = myId();
  return me !== undefined ? user.id === me : user.name === myName;
}

/** The room is on screen: selected, and the tab visible. */
function viewing(v: View): boolean {
  return v === current && document.visibilityState === 'visible';
}

function atBottom(): boolean {
  return ui.messages.scrollTop + ui.messages.clientHeight >= ui.messages.scrollHeight - 30;
}

// ---- the room list ----------------------------------------------------------------------------

/** The room named `name` in the list, joined by the client now and after every reconnect. */
function addView(c: Client, name: string): View {
  const known = views.get(name);
  if (known) return known;
  const entry = el('li', 'room', '', 'room-entry') as HTMLLIElement;
  entry.dataset.room = name;
  const badge = el('span', 'badge', '', 'room-badge');
  badge.hidden = true;
  const room = c.room(name);
  const v: View = {
    name,
    room,
    status: room.status,
    joinedBefore: false,
    announced: 0,
    gaps: [],
    hasOlder: false,
    loadingOlder: false,
    readAsked: 0,
    typers: new Map(),
    entry,
    badge,
    off: [],
  };
  entry.append(
    button(`#${name}`, 'room-open', () => select(v)),
    badge,
  );
  views.set(name, v);
  ui.roomList.append(entry);
  v.off.push(
    room.on('change', (snap) => onChange(v, snap)),
    room.on('message', (m) => {
      v.announced++;
      stopTyping(v, m.user.id);
    }),
    room.on('reset', (notice) => {
      v.gaps.push(notice);
      v.hasOlder = true;
    }),
    room.on('typing', (t) => {
      stopTyping(v, t.user.id);
      if (!t.typing || isMine(t.user)) return;
      const timer = window.setTimeout(() => stopTyping(v, t.user.id), TYPING_SHOW_MS);
      v.typers.set(t.user.id, { user: t.user, timer });
      if (v === current) renderTyping();
    }),
    room.on('presence', (p) => {
      if (p.event === 'leave') stopTyping(v, p.user.id);
    }),
    room.on('removed', (r) => {
      showError(
        v.joinedBefore
          ? `removed from ${r.room} (${r.reason})`
          : `cannot join ${r.room} (${r.reason})`,
      );
      removeView(v);
    }),
  );
  renderBadge(v);
  return v;
}

function removeView(v: View): void {
  if (views.get(v.name) !== v) return;
  views.delete(v.name);
  for (const off of v.off) off();
  for (const t of v.typers.values()) clearTimeout(t.timer);
  v.entry.remove();
  if (typingIn === v) typingIn = undefined;
  if (editing?.view === v) editing = undefined;
  if (current === v) {
    current = undefined;
    const next = views.values().next();
    if (!next.done) select(next.value);
    else ui.chat.hidden = true;
  }
  // Nothing left to be in: back to the join form's first state.
  if (views.size === 0) signOut();
}

function renderBadge(v: View): void {
  // The room read right now: its cursor moves in a moment, no need to flash a count.
  const text = viewing(v) && atBottom() ? '' : badgeText(v.room.unread);
  v.badge.textContent = text;
  v.badge.hidden = text === '';
  v.entry.dataset.unread = String(v.room.unread);
}

/** The room's state changed (the SDK batches its changes): status, badge, and the view. */
function onChange(v: View, snap: RoomSnapshot): void {
  if (views.get(v.name) !== v) return;
  const was = v.status;
  v.status = snap.status;
  if (snap.status === 'joining' && was !== 'joining') {
    // The connection went: what the rejoin brings is what was missed.
    v.announced = 0;
    for (const id of [...v.typers.keys()]) stopTyping(v, id);
  }
  if (snap.status === 'joined' && was !== 'joined') onJoined(v);
  renderBadge(v);
  if (v === current) {
    renderView();
    renderMembers();
    scheduleRead();
  }
}

function onJoined(v: View): void {
  showError('');
  if (!v.joinedBefore) {
    v.joinedBefore = true;
    // A full first page: older messages may be retained before it.
    v.hasOlder ||= v.announced >= HISTORY_PAGE;
    setStatus(`joined ${v.name}`);
  } else if (rejoinTold !== current || v === current) {
    rejoinTold = v;
    const lost = v.gaps.length > 0 ? ', some could not be recovered' : '';
    setStatus(`rejoined ${v.name}: ${v.announced} missed${lost}`);
  }
  if (!current) select(v);
  void refreshStats();
}

// ---- the room shown ---------------------------------------------------------------------------

function select(v: View): void {
  if (current === v) return scheduleRead();
  setTyping(false);
  if (editing) cancelEdit();
  current = v;
  for (const other of views.values()) {
    other.entry.classList.toggle('selected', other === v);
    if (other === v) other.entry.setAttribute('aria-current', 'true');
    else other.entry.removeAttribute('aria-current');
  }
  ui.chat.hidden = false;
  ui.roomTitle.textContent = `#${v.name}`;
  drawn = new Map();
  gapNodes = new Map();
  ui.messages.replaceChildren();
  renderView();
  renderMembers();
  renderTyping();
  ui.messages.scrollTop = ui.messages.scrollHeight;
  for (const other of views.values()) renderBadge(other);
  scheduleRead();
}

/**
 * Brings the shown room's list up to date with the SDK's snapshot: elements of unchanged
 * messages are kept (an edit under way keeps its focus), changed ones redrawn, and the list put
 * in order with as few moves as it needs.
 */
function renderView(): void {
  const v = current;
  if (!v) return;
  const stick = atBottom();
  const top = ui.messages.scrollTop;
  const me = myId() ?? '';
  const next = new Map<string, Drawn>();
  const items: HTMLElement[] = [];
  const gaps = [...v.gaps].sort((a, b) => a.afterSeq - b.afterSeq);
  const nextGaps = new Map<number, HTMLLIElement>();
  const placeGaps = (beforeSeq: number) => {
    while (gaps.length > 0 && gaps[0].afterSeq < beforeSeq) {
      const gap = gaps.shift()!;
      const li = gapNodes.get(gap.afterSeq) ?? gapNotice(gap);
      nextGaps.set(gap.afterSeq, li);
      items.push(li);
    }
  };
  for (const m of v.room.messages) {
    if (!m.pending) placeGaps(m.seq);
    const editingThis = editing?.view === v && editing.id === m.id;
    // How it is drawn depends on the message, on who "me" is, and on the edit under way.
    const key = `${me}|${editingThis}`;
    const old = drawn.get(m.id);
    const d =
      old && old.m === m && old.key === key
        ? old
        : { m, key, li: renderMessage(v, m, editingThis) };
    next.set(m.id, d);
    items.push(d.li);
  }
  placeGaps(Infinity);
  drawn = next;
  gapNodes = nextGaps;
  const focused = editing && document.activeElement === editing.input;
  let at = ui.messages.firstChild;
  for (const item of items) {
    if (item === at) at = at.nextSibling;
    else ui.messages.insertBefore(item, at);
  }
  while (at) {
    const gone = at;
    at = at.nextSibling;
    gone.remove();
  }
  if (focused && editing && document.activeElement !== editing.input) editing.input.focus();
  ui.messages.scrollTop = stick ? ui.messages.scrollHeight : top;
  ui.loadOlder.hidden = !v.hasOlder;
  ui.loadOlder.disabled = v.loadingOlder;
}

function gapNotice(gap: ResetNotice): HTMLLIElement {
  // One text whatever the SDK's `reason`: retention and a restarted counter look alike to a
  // reader, and the SDK can take one for the other (a gap right after a room's first message).
  const li = el(
    'li',
    'notice',
    'some messages from while you were away could not be recovered',
    'notice',
  ) as HTMLLIElement;
  li.dataset.reason = gap.reason;
  return li;
}

function renderMessage(v: View, m: RoomMessage, editingThis: boolean): HTMLLIElement {
  const li = el('li', 'message', '', 'message') as HTMLLIElement;
  li.dataset.id = m.id;
  // A pending send has no seq yet (the SDK gives it 0): it goes after the rest.
  if (m.pending) {
    li.classList.add('pending', 'mine');
    li.dataset.pending = 'true';
    // A send restored from the outbox before the server named the user carries no name yet.
    li.append(el('span', 'user', m.user.name || myName, 'message-user'));
    li.append(el('span', 'text', m.text, 'message-text'));
    li.append(el('span', 'meta', 'sending…', 'message-pending'));
    return li;
  }
  li.dataset.seq = String(m.seq);
  const mine = isMine(m.user);
  if (mine) li.classList.add('mine');
  li.append(el('span', 'user', m.user.name, 'message-user'));
  if (m.deleted) {
    li.classList.add('deleted');
    li.dataset.deleted = 'true';
    li.append(el('span', 'text', 'message deleted', 'message-text'));
  } else if (editingThis && editing) {
    li.append(editing.form);
  } else {
    li.append(el('span', 'text', m.text, 'message-text'));
    if (m.editedAt !== undefined) li.append(el('span', 'edited', '(edited)', 'message-edited'));
  }
  const meta = el('span', 'meta', `${new Date(m.ts).toLocaleTimeString()} · via `);
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
    const on = m.mine?.includes(emoji) ?? false;
    const b = button(emoji, 'react', () => change(v.room.react(m.id, emoji, !on)));
    b.dataset.emoji = emoji;
    b.setAttribute('aria-pressed', String(on));
    b.classList.toggle('on', on);
    b.title = on ? `take back ${emoji}` : `react ${emoji}`;
    b.append(el('span', 'count', count > 0 ? String(count) : '', 'reaction-count'));
    actions.append(b);
  }
  if (mine && !editingThis) {
    actions.append(
      button('edit', 'edit', () => startEdit(v, m)),
      button('delete', 'delete', () => change(v.room.remove(m.id))),
    );
  }
  li.append(actions);
  return li;
}

function renderMembers(): void {
  const v = current;
  const members = v ? [...v.room.members].sort((a, b) => a.name.localeCompare(b.name)) : [];
  const items = members.map((u) => el('li', isMine(u) ? 'me' : '', u.name, 'member'));
  // The join gives the first page of members; the count covers them all.
  const more = v ? v.room.memberCount - members.length : 0;
  if (more > 0) items.push(el('li', 'more', `and ${more} more`, 'members-more'));
  ui.members.replaceChildren(...items);
}

function renderTyping(): void {
  const names = current ? [...current.typers.values()].map((t) => t.user.name) : [];
  ui.typing.textContent =
    names.length === 0 ? '' : `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing…`;
}

function stopTyping(v: View, userId: string): void {
  const t = v.typers.get(userId);
  if (!t) return;
  clearTimeout(t.timer);
  v.typers.delete(userId);
  if (v === current) renderTyping();
}

/** Tells the shown room I am typing (the SDK renews it while I go on), or that I stopped. */
function setTyping(typing: boolean): void {
  const target = typing ? current : undefined;
  if (typingIn && typingIn !== target) typingIn.room.setTyping(false);
  typingIn = target;
  target?.room.setTyping(true);
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
    if (seq > 0 && li.getBoundingClientRect().top < box.bottom) return seq;
  }
  return 0;
}

async function flushRead(): Promise<void> {
  const v = current;
  if (!v || !viewing(v) || v.room.status !== 'joined') return;
  const seq = highestSeqInView();
  if (seq <= Math.max(v.room.readSeq, v.readAsked)) return;
  v.readAsked = seq;
  try {
    await v.room.markRead(seq);
  } catch (err) {
    if (v.readAsked === seq) v.readAsked = 0; // asked again when the view next changes
    if (views.get(v.name) === v) showError(`cannot mark ${v.name} read: ${explain(err)}`);
  }
}

// ---- history ----------------------------------------------------------------------------------

async function loadOlder(v: View): Promise<void> {
  if (v.loadingOlder) return;
  v.loadingOlder = true;
  ui.loadOlder.disabled = true;
  // Keep what the reader looks at in place while older messages go in above it.
  const height = ui.messages.scrollHeight;
  try {
    const older = await v.room.older(HISTORY_PAGE);
    v.hasOlder = older.length >= HISTORY_PAGE;
  } catch (err) {
    showError(`cannot load older: ${explain(err)}`);
  }
  v.loadingOlder = false;
  if (v !== current) return;
  renderView();
  ui.messages.scrollTop += ui.messages.scrollHeight - height;
}

// ---- sends, edits, deletions and reactions ----------------------------------------------------

/**
 * A change handed to the SDK's outbox: it goes out once the room is joined, is retried with its
 * clientId until the server answers, and survives a reload. A final refusal shows through the
 * client's `settled` event (as it does for a change restored from before a reload).
 */
function change(pending: Promise<unknown>): void {
  pending.catch(() => undefined);
}

const refused: Record<Op['kind'], string> = {
  send: 'not sent',
  edit: 'not edited',
  delete: 'not deleted',
  react: 'reaction not sent',
};

function onSettled(op: Op, err: RoomcastError | undefined): void {
  if (!err) return;
  // Left or removed rooms, a closed client: said elsewhere.
  if (err.code === 'LEFT' || err.code === 'REMOVED' || err.code === 'CLOSED') return;
  showError(`${refused[op.kind]}: ${explain(err)}`);
  // A refused send's text goes back where it was typed, if that is free.
  if (op.kind === 'send' && current?.name === op.room && ui.text.value === '') {
    ui.text.value = op.text;
  }
}

function startEdit(v: View, m: RoomMessage): void {
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
    saveEdit(v, m.id, input.value);
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') cancelEdit();
  });
  editing = { view: v, id: m.id, form, input };
  renderView();
  input.focus();
}

function cancelEdit(): void {
  if (!editing) return;
  editing = undefined;
  renderView();
}

function saveEdit(v: View, id: string, text: string): void {
  const m = v.room.messages.find((x) => x.id === id);
  if (!m) return cancelEdit();
  if (text.trim() === '') return showError('an edit needs some text (or delete the message)');
  cancelEdit();
  if (text === m.text) return;
  showError('');
  // The new text comes with the `message:update` event, to every member alike.
  change(v.room.edit(id, text));
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

/** The outbox of one user: in IndexedDB (kept across reloads) when the browser has it. */
function outboxOf(name: string): OutboxStorage {
  return typeof indexedDB === 'undefined'
    ? memoryStorage()
    : indexedDbStorage(`roomcast-outbox:${encodeURIComponent(name)}`);
}

function signIn(name: string): Client {
  myName = name;
  ui.name.disabled = true;
  setStatus('connecting…');
  const storage = outboxOf(name);
  const c = createClient({
    url: serverUrl,
    auth: { name },
    storage,
    backoff: { capMs: BACKOFF_CAP_MS },
  });
  client = c;
  c.on('state', (state) => {
    if (client !== c) return;
    if (state === 'live') setStatus('connected');
    else if (state === 'reconnecting') {
      setStatus('disconnected, reconnecting…');
      setTyping(false);
      rejoinTold = undefined;
    } else if (state === 'refused') signOut();
  });
  c.on('end', (end) => {
    if (client !== c) return;
    showError(
      end.reason === 'unauthorized'
        ? 'connection refused: unauthorized'
        : `the server ended the session (${end.reason})${end.retry ? ', reconnecting…' : ''}`,
    );
  });
  // "Me" is known now: my messages get their edit and delete buttons.
  c.on('session', () => {
    if (client !== c) return;
    renderView();
    renderMembers();
  });
  c.on('settled', ({ op, error }) => client === c && onSettled(op, error));
  // Changes made before a reload are sent in their rooms: show those rooms too.
  storage.load().then(
    (ops) => {
      for (const op of ops) if (client === c && !views.has(op.room)) addView(c, op.room);
    },
    () => undefined,
  );
  return c;
}

/** Back to the join form's first state: no connection, no rooms, the name editable again. */
function signOut(): void {
  const c = client;
  if (!c) return;
  client = undefined;
  c.close();
  for (const v of [...views.values()]) removeView(v);
  ui.name.disabled = false;
  setStatus('not connected');
}

ui.joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const name = ui.name.value.trim();
  const roomName = ui.room.value.trim();
  if (!client && !name) return showError('pick a name');
  if (!isValidRoomName(roomName)) return showError('a room name is 1-64 of A-Z a-z 0-9 _ -');
  showError('');
  const c = client ?? signIn(name);
  // Shown at once; the client joins it now if connected, else once it is.
  select(addView(c, roomName));
});

ui.loadOlder.addEventListener('click', () => current && void loadOlder(current));
ui.messages.addEventListener('scroll', () => {
  scheduleRead();
  if (current) renderBadge(current);
});
document.addEventListener('visibilitychange', () => {
  scheduleRead();
  for (const v of views.values()) renderBadge(v);
});
window.addEventListener('focus', () => scheduleRead());

ui.text.addEventListener('input', () => {
  setTyping(ui.text.value.trim() !== '');
  clearTimeout(typingIdle);
  typingIdle = window.setTimeout(() => setTyping(false), TYPING_IDLE_MS);
});

ui.sendForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = ui.text.value;
  const v = current;
  if (!v || !text.trim()) return;
  clearTimeout(typingIdle);
  setTyping(false);
  showError('');
  // Into the outbox: shown at once as pending, sent (once) when the room is joined.
  change(v.room.send(text));
  ui.text.value = '';
  ui.text.focus();
  ui.messages.scrollTop = ui.messages.scrollHeight;
});

void refreshStats();
setInterval(() => void refreshStats(), STATS_POLL_MS);
