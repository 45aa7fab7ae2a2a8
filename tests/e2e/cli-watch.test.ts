import { spawn } from 'node:child_process';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/infrastructure/cli-program.js';
import { connectWs, Inbox, serveForSuite } from '../support/event-streams.js';
import { type Account } from '../support/http.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { json, type TestApp } from '../support/test-app.js';

const root = path.resolve(import.meta.dirname, '../..');

describe('npm run cli -- watch', () => {
  let app: TestApp;
  let port: number;
  let user: Account;
  serveForSuite((served) => ({ app, port, user } = served), 'memory');

  const createTask = async (title: string) => json(await app.inject({ method: 'POST', url: '/tasks', headers: user.auth, payload: { title } }));

  /** runCli in this process, stopped through `io.signal`; its stdout lines arrive in `lines`. */
  function watchInProcess(args: string[], env: Record<string, string> = {}) {
    const lines = new Inbox<string>();
    const notices: string[] = [];
    const stop = new AbortController();
    const status = runCli(['watch', ...args], {
      env,
      stdin: Readable.from(['']),
      signal: stop.signal,
      out: (line) => lines.push(line),
      err: (line) => notices.push(line),
    });
    return { lines, notices, status, stop: () => stop.abort() };
  }

  it('prints each of the caller’s events as one JSON line, from a real process, until interrupted', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/infrastructure/cli.ts', 'watch', '--url', `http://127.0.0.1:${port}`], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', TASKFORGE_TOKEN: user.tokens.access_token },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines = new Inbox<string>();
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      const parts = stdout.split('\n');
      stdout = parts.pop()!;
      parts.forEach((line) => lines.push(line));
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    // The watcher says so on stderr once its stream is open: events after that are its to print.
    const watching = new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk;
        if (/watching/.test(stderr)) resolve();
      });
      void exited.then((code) => reject(new Error(`the watcher exited (${code}): ${stderr}`)));
    });
    try {
      await watching;
      const task = await createTask('printed by the watcher');
      const event = JSON.parse(await lines.next(10_000));
      expect(event).toMatchObject({ type: 'task.created', data: { task: { id: task.id, title: 'printed by the watcher' } } });
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  }, 30_000);

  it('replays from --since, then resumes with Last-Event-ID after the connection drops, missing and repeating nothing', async () => {
    const proxy = await new TcpProxy({ host: '127.0.0.1', port }).start();
    await createTask('seen before');
    const since = await newestEventId();
    const first = await createTask('before the watch');
    const watcher = watchInProcess(['--token', user.tokens.access_token, '--url', `http://127.0.0.1:${proxy.port}`, '--since', since]);
    try {
      expect(JSON.parse(await watcher.lines.next()).data.task.id).toBe(first.id);
      await proxy.refuse();
      const missed = [await createTask('while away 1'), await createTask('while away 2')];
      await proxy.restore();
      const replayed = [JSON.parse(await watcher.lines.next(10_000)), JSON.parse(await watcher.lines.next())];
      expect(replayed.map((event) => event.data.task.id)).toEqual(missed.map((task) => task.id));
      const after = await createTask('after');
      expect(JSON.parse(await watcher.lines.next()).data.task.id).toBe(after.id);
      expect(watcher.notices.join('\n')).toMatch(/connection lost|stream ended/);
    } finally {
      watcher.stop();
      await proxy.close();
    }
    expect(await watcher.status).toBe(0);
  });

  it('stops with status 1 and the reason when the service refuses the token; 2 without one', async () => {
    const refused = watchInProcess(['--token', 'not-a-token', '--url', `http://127.0.0.1:${port}`]);
    expect(await refused.status).toBe(1);
    expect(refused.notices.join('\n')).toMatch(/401/);

    const missing = watchInProcess(['--url', `http://127.0.0.1:${port}`]);
    expect(await missing.status).toBe(2);
    expect(missing.notices.join('\n')).toMatch(/--token/);
  });

  it('refuses with status 2 a --url holding credentials, without printing them', async () => {
    const run = watchInProcess(['--token', user.tokens.access_token, '--url', `http://ada:url-password-secret@127.0.0.1:${port}`]);
    expect(await run.status).toBe(2);
    expect(run.notices.join('\n')).toMatch(/--url must not hold credentials/);
    expect(run.notices.join('\n')).not.toContain('url-password-secret');
  });

  /** The id of the user's newest event, as a stream's ready message gives it. */
  async function newestEventId(): Promise<string> {
    const ws = await connectWs(port, '/events', user.auth);
    const { last_id: lastId } = await ws.ready();
    ws.socket.close();
    return lastId as string;
  }
});
