#!/usr/bin/env node
// `npm run token -- --sub u1 --name Ann --rooms private-ops [--ttl 3600] [--secret S]`:
// mints a development HS256 token for AUTH_MODE=jwt (secret: --secret or JWT_SECRET).
const { parseArgs } = require('node:util');
const { SignJWT } = require('jose');

const { values } = parseArgs({
  options: {
    sub: { type: 'string' },
    name: { type: 'string' },
    rooms: { type: 'string', default: '' },
    ttl: { type: 'string', default: '3600' },
    secret: { type: 'string' },
  },
});
const secret = values.secret ?? process.env.JWT_SECRET;
if (!values.sub || !secret || Buffer.byteLength(secret) < 32) {
  console.error(
    'usage: npm run token -- --sub <user id> [--name <display name>] [--rooms a,b] [--ttl seconds]',
  );
  console.error('       with JWT_SECRET (at least 32 bytes) in the environment, or --secret');
  process.exit(2);
}
const rooms = values.rooms
  .split(',')
  .map((r) => r.trim())
  .filter(Boolean);
new SignJWT({ name: values.name ?? values.sub, ...(rooms.length ? { rooms } : {}) })
  .setProtectedHeader({ alg: 'HS256' })
  .setSubject(values.sub)
  .setIssuedAt()
  .setExpirationTime(Math.floor(Date.now() / 1000) + Number(values.ttl))
  .sign(new TextEncoder().encode(secret))
  .then((token) => console.log(token));
