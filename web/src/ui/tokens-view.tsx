import type { TargetedSubmitEvent } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, authorized } from '../api/client';
import { messageOf } from '../api/problem';
import type { paths } from '../api/schema';
import { Alert, FetchedList } from './feedback';

type Token = NonNullable<paths['/me/tokens']['get']['responses'][200]['content']['application/json']>['items'][number];
type Scope = Token['scopes'][number];
const SCOPES: ReadonlyArray<[Scope, string]> = [
  ['tasks:read', 'Read tasks'],
  ['tasks:write', 'Change tasks'],
  ['profile', 'Profile'],
];

const dayOf = (timestamp: string | null): string => (timestamp ? timestamp.slice(0, 10) : 'never');

/** Personal access tokens for scripts: created with chosen scopes, shown once, revoked at will. */
export function TokensView() {
  const [tokens, setTokens] = useState<Token[] | null>(null);
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const [copied, setCopied] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const secret = useRef<HTMLInputElement>(null);

  useEffect(() => {
    authorized(() => api.GET('/me/tokens'))
      .then((page) => setTokens(page.items))
      .catch((caught: unknown) => setError(messageOf(caught)));
  }, []);

  const create = async (event: TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const days = String(data.get('expires_in_days') ?? '');
    setError(null);
    try {
      const token = await authorized(() =>
        api.POST('/me/tokens', {
          body: { name: String(data.get('name') ?? ''), scopes: data.getAll('scopes').map(String) as Scope[], expires_in_days: days ? Number(days) : null },
        }),
      );
      const { token: value, ...shown } = token;
      setTokens((list) => [shown as Token, ...(list ?? [])]);
      setCreated({ name: token.name, token: value });
      setCopied(false);
      form.reset();
    } catch (caught) {
      setError(messageOf(caught));
    }
  };

  const copy = async () => {
    if (!created) return;
    try {
      await navigator.clipboard.writeText(created.token);
    } catch {
      // No clipboard API outside secure contexts: the selected text can still be copied by hand.
      secret.current?.select();
    }
    setCopied(true);
  };

  const revoke = async (token: Token) => {
    setError(null);
    try {
      await authorized(() => api.DELETE('/me/tokens/{id}', { params: { path: { id: token.id } } }));
      setTokens((list) => (list ?? []).filter((item) => item.id !== token.id));
    } catch (caught) {
      setError(messageOf(caught));
    }
  };

  return (
    <main class="tasks">
      <h1>Personal access tokens</h1>
      <p class="hint">For scripts and integrations: send one as <code>Authorization: Bearer tfp_…</code>. Each token does only what its scopes allow.</p>
      <form class="card" aria-label="New token" onSubmit={create}>
        <label for="token-name">Token name</label>
        <input id="token-name" name="name" required maxLength={100} placeholder="nightly backup" />
        <fieldset>
          <legend>Scopes</legend>
          {SCOPES.map(([scope, label]) => (
            <label class="inline" key={scope}>
              <input type="checkbox" name="scopes" value={scope} defaultChecked={scope === 'tasks:read'} /> {label} <code>{scope}</code>
            </label>
          ))}
        </fieldset>
        <label for="token-days">Expires in (days)</label>
        <input id="token-days" name="expires_in_days" type="number" min={1} max={365} defaultValue="90" aria-describedby="token-days-hint" />
        <span id="token-days-hint" class="hint">
          Empty: never expires
        </span>
        <div>
          <button type="submit" class="primary">
            Create token
          </button>
        </div>
      </form>
      <Alert message={error} />
      {created && (
        <div class="card secret" role="region" aria-label="New token">
          <p>
            <strong>Copy the token “{created.name}” now: it is not shown again.</strong>
          </p>
          <label for="token-value">Token</label>
          <div class="row">
            <input id="token-value" ref={secret} readOnly value={created.token} class="grow" onFocus={(event) => event.currentTarget.select()} />
            <button type="button" onClick={() => void copy()}>
              {copied ? 'Copied' : 'Copy token'}
            </button>
          </div>
        </div>
      )}
      <h2>Your tokens</h2>
      <FetchedList items={tokens} loading="Loading tokens…" empty="No tokens yet." label="Tokens">
        {(token) => (
          <li class="task" key={token.id}>
            <div class="task-main">
              <span class="title">{token.name}</span>
              <p class="meta">
                {token.scopes.map((scope) => (
                  <span class="badge" key={scope}>
                    {scope}
                  </span>
                ))}
                <span>Created {dayOf(token.created_at)}</span>
                <span>Expires {token.expires_at ? dayOf(token.expires_at) : 'never'}</span>
                <span>Last used {dayOf(token.last_used_at)}</span>
              </p>
            </div>
            <button type="button" class="danger" aria-label={`Revoke ${token.name}`} onClick={() => void revoke(token)}>
              Revoke
            </button>
          </li>
        )}
      </FetchedList>
    </main>
  );
}
