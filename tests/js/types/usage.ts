// Compiled (not run) by bundle.test.mjs with --strict against
// clients/js/pollbridge.d.ts: the declarations must describe the API as
// docs/client.md shows it, and reject misuse (the @ts-expect-error lines).
import pollbridge, { VERSION, applyPatch, applyMergePatch, watch, type Change, type Status, type Transport, type Watch } from '../../../clients/js/pollbridge.js';

const version: string = VERSION;
const w: Watch = pollbridge.watch('/events/orders', {
  onChange(doc, change: Change) {
    const id: string = change.id;
    const stream: string = change.stream;
    if (change.type === 'patch') console.log(id, stream, doc);
  },
  onStatus(status: Status) {
    if (status.state === 'stale') console.log(status.reason, status.streams.orders?.since);
    const transport: Transport = status.transport;
    if (transport === 'long-poll') console.log('buffered on the way: long-polling');
  },
  token: async () => 'jwt',
  transport: 'fetch',
  shared: 'admin-pages',
  key: '/meta/id',
  idleTimeout: 45000,
});
const docs: Record<string, unknown> = w.documents;
const leader: boolean = w.leader;
w.close();

watch(new URL('https://pb.example/events?stream=a&stream=b'), { token: 'static', tokenParam: 'jwt', shared: false });
watch('/events/x', { transport: 'auto', bufferTimeout: 2000, streamRetryAfter: 60000 });
watch('/events/x', { transport: 'long-poll' });
applyMergePatch({ a: 1 }, { a: null });
applyPatch({ a: 1 }, [{ op: 'remove', path: '/a' }]);

// @ts-expect-error an unknown transport
watch('/events/x', { transport: 'websocket' });
// @ts-expect-error 'auto' chooses; a status names the transport in use
const chosen: Status['transport'] = 'auto';
// @ts-expect-error a status state that does not exist
const bad: Status['state'] = 'connecting';
// @ts-expect-error the token is a string or a function returning one
watch('/events/x', { token: 42 });

export { version, docs, leader, bad, chosen };
