/**
 * The SQLite thread: one connection, running the statements the event loop sends, in order. Each
 * of the pool's connections is a lane here; while one lane's transaction is open, the other lanes'
 * statements wait for its end, exactly as they would wait for the one connection in the pool.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { commitTogether, type WriteOutcome } from '../group-commit.js';
import type { StatementRunner } from '../statement-runner.js';
import { WRITE_UNITS } from '../task-writes.js';
import { SqliteExecutor } from './sqlite-executor.js';
import { isLongWork, toTransferable, type SqliteReply, type SqliteRequest, type SqliteThreadSettings, type TransferableError } from './sqlite-protocol.js';

const port = parentPort!;
const { filename, waitLimitMs, access, checkpointEveryMs } = workerData as SqliteThreadSettings;

/**
 * What a statement that waited too long for another lane's transaction is answered: the error of
 * a pool that had no connection to lend, so callers treat it alike (a 503). It never runs.
 */
const waitedTooLong = (): TransferableError => ({
  name: 'KnexTimeoutError',
  message: `Knex: Timeout acquiring a connection. The SQLite connection stayed in another transaction for ${waitLimitMs} ms.`,
});

async function commit(statements: StatementRunner, writes: Array<[name: string, args: never]>): Promise<WriteOutcome[]> {
  const outcomes = await commitTogether(
    statements,
    writes.map(([name, args]) => (statements) => WRITE_UNITS.get(name)!.run(statements, args)),
  );
  return outcomes.map((outcome) => (outcome.ok ? outcome : { ok: false, error: toTransferable(outcome.error) }));
}

function execute(executor: SqliteExecutor, [, , op, sql, params]: SqliteRequest): unknown {
  switch (op) {
    case 'query':
      return executor.query(sql, params);
    case 'all':
      return executor.all(sql, params);
    case 'tuples':
      return executor.encodedTuples(sql, params);
    case 'run':
      return executor.run(sql, params);
    case 'commit':
      return commit(executor.asStatementRunner(), params as Array<[string, never]>);
    case 'leave':
      if (executor.inTransaction) executor.run('rollback', []);
      return null;
  }
}

/** Checkpoints now and then; a checkpoint that fails (another one under way) is simply tried again later. */
function checkpointRegularly(executor: SqliteExecutor): () => void {
  if (checkpointEveryMs <= 0) return () => {};
  const timer = setInterval(() => {
    try {
      executor.checkpoint();
    } catch {
      // SQLITE_BUSY: the writer's safety-net checkpoint is running; the next turn catches up.
    }
  }, checkpointEveryMs);
  return () => clearInterval(timer);
}

function serve(executor: SqliteExecutor): void {
  const stopCheckpoints = checkpointRegularly(executor);
  /** The lane whose transaction is open, and what the others sent meanwhile. */
  let owner: number | null = null;
  let waiting: Array<{ request: SqliteRequest; since: number }> = [];
  let expiry: NodeJS.Timeout | null = null;

  const expireWaiting = (): void => {
    expiry = null;
    const now = Date.now();
    const expired = waiting.filter(({ since }) => now - since >= waitLimitMs);
    if (expired.length > 0) port.postMessage(expired.map(({ request }): SqliteReply => [request[0], false, waitedTooLong()]));
    waiting = waiting.filter(({ since }) => now - since < waitLimitMs);
    if (waiting.length > 0) expiry = setTimeout(expireWaiting, waitLimitMs - (now - waiting[0]!.since));
  };

  /**
   * Async only for group commits, whose units await statements that have already run: the whole
   * batch settles within this turn's microtasks.
   */
  const answer = async (request: SqliteRequest): Promise<SqliteReply> => {
    let reply: SqliteReply;
    try {
      reply = [request[0], true, await execute(executor, request)];
    } catch (error) {
      reply = [request[0], false, toTransferable(error)];
    }
    owner = executor.inTransaction ? request[1] : null;
    return reply;
  };

  /** Messages not handled yet, in arrival order. */
  const inbox: Array<SqliteRequest[][] | 'close'> = [];

  /**
   * The group commits that arrived while the thread was busy, taken out of the messages that
   * carry them. Every queued request comes from a caller with nothing else under way, so any two
   * are concurrent and a commit may run ahead of the others.
   */
  const takeQueuedCommits = (): SqliteRequest[] => {
    for (let next = receiveMessageOnPort(port); next; next = receiveMessageOnPort(port)) inbox.push(next.message as SqliteRequest[][] | 'close');
    const commits: SqliteRequest[] = [];
    for (const message of inbox) {
      if (message === 'close') continue;
      for (const group of message) {
        for (let i = 0; i < group.length; ) {
          if (group[i]![2] === 'commit') commits.push(...group.splice(i, 1));
          else i++;
        }
      }
    }
    return commits;
  };

  /**
   * One transaction for this group commit and every other one waiting: each commit writes the
   * pages it changed to the WAL, and writes that commit together write the pages they share once
   * (see GroupCommit). The event loop sends a group as soon as it has one; the groups grow by
   * themselves while the thread is busy. Each request is answered with its own writes' outcomes.
   */
  const answerCommits = async (first: SqliteRequest): Promise<SqliteReply[]> => {
    // With a lane's transaction open, what waits belongs after it; group commits never open one.
    const requests = owner === null ? [first, ...takeQueuedCommits()] : [first];
    if (requests.length === 1) return [await answer(first)];
    const [, ok, outcomes] = await answer([first[0], first[1], 'commit', '', requests.flatMap((request) => request[4])]);
    let offset = 0;
    return requests.map(([id, , , , writes]) => {
      const own = ok ? (outcomes as WriteOutcome[]).slice(offset, (offset += writes.length)) : outcomes;
      return [id, ok, own];
    });
  };

  /**
   * Requests come in groups (what the event loop sent in one synchronous run), several groups to
   * a message; the replies to a message leave together, except that long work — a page with its
   * total, a group commit — never holds up the answers already made: they leave before it starts.
   */
  const handle = async (message: SqliteRequest[][] | 'close'): Promise<void> => {
    if (message === 'close') {
      stopCheckpoints();
      executor.close();
      port.close();
      return;
    }
    let replies: SqliteReply[] = [];
    const sendReplies = () => {
      if (replies.length > 0) port.postMessage(replies);
      replies = [];
    };
    for (const group of message) {
      if (isLongWork(group)) sendReplies();
      for (const request of group) {
        if (owner !== null && request[1] !== owner) {
          waiting.push({ request, since: Date.now() });
          expiry ??= setTimeout(expireWaiting, waitLimitMs);
          continue;
        }
        if (request[2] === 'commit') {
          sendReplies(); // also when a group commit shares its group
          replies.push(...(await answerCommits(request)));
        } else {
          replies.push(await answer(request));
        }
        // In arrival order; a lane has one statement under way at a time, so none overtakes its own.
        while (owner === null && waiting.length > 0) replies.push(await answer(waiting.shift()!.request));
      }
    }
    sendReplies();
  };

  let handling = false;
  port.on('message', async (message: SqliteRequest[][] | 'close') => {
    inbox.push(message);
    if (handling) return;
    handling = true;
    try {
      while (inbox.length > 0) await handle(inbox.shift()!);
    } finally {
      handling = false;
    }
  });
  port.postMessage([-1, true, null] satisfies SqliteReply);
}

try {
  serve(new SqliteExecutor(filename, access));
} catch (error) {
  port.postMessage([-1, false, toTransferable(error)] satisfies SqliteReply);
  port.close();
}
