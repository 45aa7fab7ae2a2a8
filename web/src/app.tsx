import { useEffect, useState } from 'preact/hooks';
import { api, authorized, logOut, onSessionEnded, refresh } from './api/client';
import { ApiError } from './api/problem';
import type { User } from './api/types';
import { AuthView } from './ui/auth-view';
import { SignedIn } from './ui/signed-in';

type Phase = { name: 'starting' } | { name: 'signed-out'; notice: string | null } | { name: 'signed-in'; user: User };

async function currentUser(): Promise<User> {
  return authorized(() => api.GET('/me'));
}

export function App() {
  const [phase, setPhase] = useState<Phase>({ name: 'starting' });

  useEffect(() => {
    // A reload: the refresh cookie, if any, brings the session back.
    void refresh()
      .then(async (restored) => setPhase(restored ? { name: 'signed-in', user: await currentUser() } : { name: 'signed-out', notice: null }))
      .catch((caught: unknown) => setPhase({ name: 'signed-out', notice: caught instanceof ApiError ? caught.message : null }));
    return onSessionEnded(() => setPhase({ name: 'signed-out', notice: 'Your session has ended. Log in again.' }));
  }, []);

  useEffect(() => {
    if (phase.name !== 'signed-in') document.title = 'Taskforge';
  }, [phase.name]);

  if (phase.name === 'starting') {
    return (
      <main class="centered">
        <p role="status">Loading Taskforge…</p>
      </main>
    );
  }
  if (phase.name === 'signed-out') {
    return <AuthView notice={phase.notice} onSignedIn={async () => setPhase({ name: 'signed-in', user: await currentUser() })} />;
  }
  const signOut = async (notice: string) => {
    await logOut().catch(() => undefined);
    history.replaceState(null, '', '/app/');
    setPhase({ name: 'signed-out', notice });
  };
  return (
    <SignedIn
      user={phase.user}
      onLogOut={() => signOut('You have logged out.')}
      onAccountDeleted={() => signOut('Your account and everything in it were deleted.')}
    />
  );
}
