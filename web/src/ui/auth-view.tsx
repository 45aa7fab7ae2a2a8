import { useEffect, useState } from 'preact/hooks';
import type { TargetedSubmitEvent } from 'preact';
import { api, logIn } from '../api/client';
import { ApiError, messageOf, problemMessage } from '../api/problem';
import type { Problem } from '../api/types';
import { Alert } from './feedback';

const SIGN_UP_PATH = '/app/signup';

/** Log in, or sign up (at /app/signup) and then log in. */
export function AuthView({ notice, onSignedIn }: { notice: string | null; onSignedIn: () => Promise<void> }) {
  const [signingUp, setSigningUp] = useState(location.pathname.startsWith(SIGN_UP_PATH));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const onPop = () => setSigningUp(location.pathname.startsWith(SIGN_UP_PATH));
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);

  const go = (signUp: boolean) => (event: Event) => {
    event.preventDefault();
    history.pushState(null, '', signUp ? SIGN_UP_PATH : '/app/');
    setSigningUp(signUp);
    setError(null);
  };

  const submit = async (event: TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const username = String(form.get('username') ?? '');
    const password = String(form.get('password') ?? '');
    setBusy(true);
    setError(null);
    try {
      if (signingUp) {
        const { error: problem, response } = await api.POST('/register', { body: { username, email: String(form.get('email') ?? ''), password } });
        if (!response.ok) throw new ApiError(response.status, problemMessage(response.status, problem as Problem, response.headers.get('retry-after')));
      }
      await logIn(username, password);
      history.replaceState(null, '', '/app/');
      await onSignedIn();
    } catch (caught) {
      setError(messageOf(caught));
      setBusy(false);
    }
  };

  return (
    <main class="centered">
      <h1>Taskforge</h1>
      <form class="card auth" onSubmit={submit} aria-labelledby="auth-heading" aria-busy={busy}>
        <h2 id="auth-heading">{signingUp ? 'Create your account' : 'Log in to your tasks'}</h2>
        {notice && !error && <p role="status">{notice}</p>}
        <Alert message={error} />
        <label>
          Username
          <input name="username" autoComplete="username" required minLength={signingUp ? 3 : 1} maxLength={signingUp ? 32 : 254} />
        </label>
        {signingUp && (
          <label>
            Email
            <input name="email" type="email" autoComplete="email" required />
          </label>
        )}
        <label>
          Password
          <input name="password" type="password" autoComplete={signingUp ? 'new-password' : 'current-password'} required minLength={signingUp ? 8 : 1} maxLength={128} />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {signingUp ? 'Sign up' : 'Log in'}
        </button>
        <p>
          {signingUp ? (
            <>
              Have an account? <a href="/app/" onClick={go(false)}>Go to the login page</a>
            </>
          ) : (
            <>
              New here? <a href={SIGN_UP_PATH} onClick={go(true)}>Create an account</a>
            </>
          )}
        </p>
      </form>
    </main>
  );
}
