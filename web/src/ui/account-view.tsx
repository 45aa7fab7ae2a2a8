import type { TargetedSubmitEvent } from 'preact';
import { useState } from 'preact/hooks';
import { api, authorized } from '../api/client';
import { messageOf } from '../api/problem';
import type { User } from '../api/types';
import { Alert } from './feedback';

/** What each form of the view last said: a notice when it worked, an alert when it did not. */
type Outcome = { notice: string } | { error: string } | null;

function OutcomeOf({ outcome }: { outcome: Outcome }) {
  if (outcome === null) return null;
  if ('error' in outcome) return <Alert message={outcome.error} />;
  return (
    <p class="notice" role="status">
      {outcome.notice}
    </p>
  );
}

/**
 * The person's own account: their name and email, their password, and deleting the account with
 * everything in it. Changing the email or the password asks for the current password (the
 * service checks it) and logs out every other session; this one stays.
 */
export function AccountView({ user, onChanged, onDeleted }: { user: User; onChanged: (user: User) => void; onDeleted: () => Promise<void> }) {
  const [profile, setProfile] = useState<Outcome>(null);
  const [password, setPassword] = useState<Outcome>(null);
  const [deletion, setDeletion] = useState<Outcome>(null);
  const [confirming, setConfirming] = useState(false);
  const [typed, setTyped] = useState('');

  const patch = (body: { name?: string | null; email?: string; password?: string; current_password?: string }) =>
    authorized(() => api.PATCH('/users/{id}', { params: { path: { id: user.id } }, body }));

  const saveProfile = async (event: TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    const data = new FormData(event.currentTarget);
    const name = String(data.get('name') ?? '').trim();
    const email = String(data.get('email') ?? '').trim();
    const current = String(data.get('current_password') ?? '');
    setProfile(null);
    try {
      const emailChanges = email !== user.email;
      const updated = await patch({ name: name === '' ? null : name, ...(emailChanges ? { email, current_password: current } : {}) });
      onChanged(updated);
      setProfile({ notice: emailChanges ? 'Saved. Your other sessions were logged out.' : 'Saved.' });
    } catch (caught) {
      setProfile({ error: messageOf(caught) });
    }
  };

  const changePassword = async (event: TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    setPassword(null);
    try {
      onChanged(await patch({ password: String(data.get('password') ?? ''), current_password: String(data.get('current_password') ?? '') }));
      form.reset();
      setPassword({ notice: 'Password changed. Your other sessions were logged out.' });
    } catch (caught) {
      setPassword({ error: messageOf(caught) });
    }
  };

  const deleteAccount = async (event: TargetedSubmitEvent<HTMLFormElement>) => {
    event.preventDefault();
    setDeletion(null);
    try {
      await authorized(() => api.DELETE('/users/{id}', { params: { path: { id: user.id } } }));
      await onDeleted();
    } catch (caught) {
      setDeletion({ error: messageOf(caught) });
    }
  };

  return (
    <main class="tasks account">
      <h1>Your account</h1>
      <form class="card" aria-label="Profile" onSubmit={saveProfile}>
        <p class="hint">
          Username <strong>{user.username}</strong>
        </p>
        <label for="account-name">Name</label>
        <input id="account-name" name="name" maxLength={100} defaultValue={user.name ?? ''} autoComplete="name" />
        <label for="account-email">Email</label>
        <input id="account-email" name="email" type="email" required defaultValue={user.email} autoComplete="email" />
        <label for="account-email-password">Current password</label>
        <input id="account-email-password" name="current_password" type="password" autoComplete="current-password" aria-describedby="account-email-hint" />
        <span id="account-email-hint" class="hint">
          Needed only to change the email
        </span>
        <div>
          <button type="submit" class="primary">
            Save profile
          </button>
        </div>
        <OutcomeOf outcome={profile} />
      </form>

      <form class="card" aria-label="Password" onSubmit={changePassword}>
        <label for="account-current-password">Current password</label>
        <input id="account-current-password" name="current_password" type="password" required autoComplete="current-password" />
        <label for="account-new-password">New password</label>
        <input id="account-new-password" name="password" type="password" required minLength={8} maxLength={128} autoComplete="new-password" />
        <div>
          <button type="submit" class="primary">
            Change password
          </button>
        </div>
        <OutcomeOf outcome={password} />
      </form>

      <section class="card" aria-labelledby="delete-heading">
        <h2 id="delete-heading">Delete the account</h2>
        <p>Your tasks, their files, your exports and your tokens are deleted with it. This cannot be undone.</p>
        {confirming ? (
          <form aria-label="Confirm deletion" onSubmit={deleteAccount}>
            <label for="account-confirm">Type your username to confirm</label>
            <input id="account-confirm" autoComplete="off" value={typed} onInput={(event) => setTyped(event.currentTarget.value)} />
            <div class="buttons">
              {/* Only the exact username enables it: a slip of the keyboard deletes nothing. */}
              <button type="submit" class="danger" disabled={typed !== user.username}>
                Delete my account
              </button>
              <button
                type="button"
                onClick={() => {
                  setConfirming(false);
                  setTyped('');
                }}
              >
                Cancel
              </button>
            </div>
            <OutcomeOf outcome={deletion} />
          </form>
        ) : (
          <button type="button" class="danger" onClick={() => setConfirming(true)}>
            Delete account…
          </button>
        )}
      </section>
    </main>
  );
}
