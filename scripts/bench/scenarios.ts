import type { RawRequest, RequestSpec } from 'autocannon';

/** A seeded account on one server: its credentials, a live access token and its task ids. */
export interface SeededUser {
  username: string;
  password: string;
  token: string;
  /** A personal access token (tfp_…) of the same user, read-only. */
  personalToken: string;
  taskIds: number[];
}

export interface Scenario {
  name: string;
  description: string;
  needsTasks: boolean;
  requests(users: SeededUser[]): RequestSpec[];
}

const TAGS = ['home', 'work', 'errand', 'urgent', 'later', 'reading'];
const PRIORITIES = ['low', 'medium', 'high', 'urgent'] as const;
const STATUSES = ['todo', 'in_progress', 'done'] as const;

/** A realistic task body; `n` varies every field a little. */
export function taskBody(n: number, prefix = 'Task'): Record<string, unknown> {
  return {
    title: `${prefix} ${n}: water the plants and file the report`,
    description: n % 3 === 0 ? '' : `Details for task ${n}. `.repeat(4),
    status: STATUSES[n % STATUSES.length],
    priority: PRIORITIES[n % PRIORITIES.length],
    due_date: n % 4 === 0 ? null : new Date(Date.UTC(2027, n % 12, (n % 28) + 1, 9)).toISOString(),
    tags: [TAGS[n % TAGS.length]!, TAGS[(n + 2) % TAGS.length]!],
  };
}

type Credential = 'token' | 'personalToken';

/** Alternates between the users (and through their tasks) request by request. */
function rotating(users: SeededUser[], build: (user: SeededUser, n: number, request: RawRequest) => RawRequest, credential: Credential = 'token'): RequestSpec {
  let n = 0;
  return {
    setupRequest: (request) => {
      const i = n++;
      const user = users[i % users.length]!;
      return build(user, Math.floor(i / users.length), { ...request, headers: { ...request.headers, authorization: `Bearer ${user[credential]}` } });
    },
  };
}

/** One task by id, spread over the user's tasks. */
const getTask = (users: SeededUser[], credential?: Credential): RequestSpec[] => [
  { method: 'GET', ...rotating(users, (user, n, r) => ({ ...r, path: `/tasks/${user.taskIds[(n * 7919) % user.taskIds.length]}` }), credential) },
];

const json = { 'content-type': 'application/json' };

/** Across every round of every server, so no update body is ever sent twice. */
let updateSequence = 0;

export const SCENARIOS: Scenario[] = [
  {
    name: 'me',
    description: 'GET /me — authentication (JWT + session check) and one lookup',
    needsTasks: false,
    requests: (users) => [{ method: 'GET', path: '/me', ...rotating(users, (_u, _n, r) => r) }],
  },
  {
    name: 'list',
    description: 'GET /tasks?limit=20 — first page, default sort',
    needsTasks: true,
    requests: (users) => [{ method: 'GET', path: '/tasks?limit=20', ...rotating(users, (_u, _n, r) => r) }],
  },
  {
    name: 'get',
    description: 'GET /tasks/{id} — one task by id',
    needsTasks: true,
    requests: (users) => getTask(users),
  },
  {
    name: 'get-pat',
    description: 'GET /tasks/{id} with a personal access token instead of a JWT',
    needsTasks: true,
    requests: (users) => getTask(users, 'personalToken'),
  },
  {
    name: 'create',
    description: 'POST /tasks — a new task',
    needsTasks: true,
    requests: (users) => [
      {
        method: 'POST',
        path: '/tasks',
        headers: json,
        ...rotating(users, (_user, n, r) => ({ ...r, body: JSON.stringify(taskBody(n, 'Bench')) })),
      },
    ],
  },
  {
    name: 'update',
    description: 'PATCH /tasks/{id} — a new title and description, different on every request',
    needsTasks: true,
    requests: (users) => [
      {
        method: 'PATCH',
        headers: json,
        ...rotating(users, (user, n, r) => {
          // The service answers a patch that changes nothing without writing, so a body that
          // repeats (in a later round, or once n wraps) would measure a read. The counter lives
          // for the whole run and never repeats.
          const change = ++updateSequence;
          return {
            ...r,
            path: `/tasks/${user.taskIds[(n * 7919) % user.taskIds.length]}`,
            body: JSON.stringify({ title: `Updated task, change ${change}`, description: `Changed by the bench, change ${change}.` }),
          };
        }),
      },
    ],
  },
  {
    name: 'login',
    description: 'POST /login — argon2id verify and a new session',
    needsTasks: false,
    requests: (users) => {
      let n = 0;
      return [
        {
          method: 'POST',
          path: '/login',
          headers: json,
          setupRequest: (request) => {
            const user = users[n++ % users.length]!;
            return { ...request, body: JSON.stringify({ username: user.username, password: user.password }) };
          },
        },
      ];
    },
  },
];
