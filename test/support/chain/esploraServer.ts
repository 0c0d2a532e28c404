/**
 * A loopback Esplora HTTP API on 127.0.0.1 answering from a {@link ChainModel}: the routes mofn
 * uses, with Esplora's paging (50 mempool + 25 confirmed, then 25 per /txs/chain page), its
 * status objects and its error bodies. Faults: see faults.ts.
 */
import http from 'node:http';
import type net from 'node:net';
import { claimedAmount, createFaults, createStats, listenTracked, sendOrCut, servedRaw, sleep, takeFault, type Faults, type ServerStats } from './faults.ts';
import type { ChainModel, HistoryItem } from './model.ts';

export interface EsploraServer {
  readonly url: string;
  readonly faults: Faults;
  readonly stats: ServerStats;
  close(): Promise<void>;
}

const status = (model: ChainModel, height: number): Record<string, unknown> =>
  height > 0 ? { confirmed: true, block_height: height, block_hash: model.headerHex(height).slice(8, 72) } : { confirmed: false };

/** Starts the server on 127.0.0.1, port 0. The test that starts it closes it. */
export async function startEsploraServer(model: ChainModel): Promise<EsploraServer> {
  const faults = createFaults();
  const stats = createStats();
  const sockets = new Set<net.Socket>();

  function txJson(txid: string, height: number): Record<string, unknown> {
    const tx = model.tx(txid)!;
    return {
      txid,
      version: 2,
      vout: tx.outputs.map((o) => ({ scriptpubkey: o.scriptHex, value: Number(o.amount) })),
      status: status(model, Math.max(0, height)),
    };
  }

  function route(method: string, path: string, body: string): { status: number; body: string; json?: boolean } {
    let m: RegExpExecArray | null;
    const json = (v: unknown): { status: number; body: string; json: boolean } => ({ status: 200, body: JSON.stringify(v), json: true });
    if (method === 'GET' && path === '/blocks/tip/height') return { status: 200, body: String(model.tipHeight) };
    if (method === 'GET' && path === '/fee-estimates') return json(Object.fromEntries(Object.keys(model.feeRates).map((k) => [k, model.feeRates[Number(k)]])));
    if (method === 'GET' && (m = /^\/scripthash\/([0-9a-f]{64})\/txs(?:\/chain\/([0-9a-f]{64}))?$/.exec(path))) {
      const script = model.scriptOfHash('s', m[1]!);
      const history: HistoryItem[] = script === undefined ? [] : model.history(script);
      const confirmed = history.filter((h) => h.height > 0).reverse();
      if (m[2] === undefined) {
        const mempool = history.filter((h) => h.height <= 0).reverse().slice(0, 50);
        return json([...mempool, ...confirmed.slice(0, 25)].map((h) => txJson(h.txid, h.height)));
      }
      const after = confirmed.findIndex((h) => h.txid === m![2]);
      return json(after < 0 ? [] : confirmed.slice(after + 1, after + 26).map((h) => txJson(h.txid, h.height)));
    }
    if (method === 'GET' && (m = /^\/scripthash\/([0-9a-f]{64})\/utxo$/.exec(path))) {
      const script = model.scriptOfHash('s', m[1]!);
      const utxos = script === undefined ? [] : model.utxos(script);
      return json(utxos.map((u) => ({ txid: u.txid, vout: u.vout, value: Number(claimedAmount(faults, u.txid, u.vout, u.amount)), status: status(model, u.height) })));
    }
    if (method === 'GET' && (m = /^\/tx\/([0-9a-f]{64})\/(hex|status)$/.exec(path))) {
      const txid = m[1]!;
      const st = model.state(txid);
      if (st.state === 'unknown') return { status: 404, body: 'Transaction not found' };
      if (m[2] === 'hex') return { status: 200, body: Buffer.from(servedRaw(faults, model.tx(txid)!)).toString('hex') };
      return json(status(model, st.state === 'confirmed' ? st.height : 0));
    }
    if (method === 'POST' && path === '/tx') {
      const verdict = model.submit(Buffer.from(body.trim(), 'hex'));
      if (!verdict.allowed) return { status: 400, body: `sendrawtransaction RPC error: {"code":-26,"message":"${verdict.reason}"}` };
      return { status: 200, body: verdict.txid };
    }
    return { status: 404, body: 'Not Found' };
  }

  const server = http.createServer((req, res) => {
    stats.messages++;
    stats.requests++;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const stall = takeFault(faults, 'stall');
        const disconnect = !stall && takeFault(faults, 'disconnect');
        const malformed = !stall && !disconnect && takeFault(faults, 'malformed');
        const serverError = !stall && !disconnect && !malformed && takeFault(faults, 'serverErrors');
        if (faults.latencyMs > 0) await sleep(faults.latencyMs);
        if (stall) return;
        if (serverError) {
          res.writeHead(503, { 'content-type': 'text/plain' }).end('Service Unavailable');
          return;
        }
        const path = (req.url ?? '/').replace(/^\/api(?=\/)/, '');
        const out = route(req.method ?? 'GET', path, Buffer.concat(chunks).toString('utf8'));
        const wrongShape = !malformed && takeFault(faults, 'wrongShape');
        const body = malformed ? (out.json ? '{"txid": [oops' : '<html>oops</html>') : wrongShape && out.json ? '"surprise"' : out.body;
        sendOrCut(res, out.status, out.json ? 'application/json' : 'text/plain', body, disconnect);
      })();
    });
  });
  const port = await listenTracked(server, stats, sockets);
  return {
    url: `http://127.0.0.1:${port}/api`,
    faults,
    stats,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
