// The legitimate client in a process of its own (see legitClientProcess in hostile.ts), so that
// the attacker's work in the caller's event loop is not counted as the node's latency. Options as
// JSON in argv[2]; "stop" from the parent → the result over IPC, then exit. Exits if the parent goes.
import { legitClient } from './hostile.ts';

const send = (m: unknown): Promise<void> => new Promise((r) => (process.send ? process.send(m, () => r()) : r()));
const client = await legitClient(JSON.parse(process.argv[2] ?? '{}') as Parameters<typeof legitClient>[0]);
process.once('disconnect', () => process.exit(0));
process.once('message', () => {
  void client.stop().then(async (r) => {
    await send(r);
    process.exit(0);
  });
});
await send('ready');
