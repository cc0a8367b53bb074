// The node's metrics as the hostile tests read them.

import { parseProm, value } from '../helpers/prom.ts';

export async function metric(adminPort: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  return value(parseProm(await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text()), name, labels);
}
