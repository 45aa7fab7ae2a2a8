import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { api, authorized } from '../api/client';
import { ApiError } from '../api/problem';
import type { User } from '../api/types';
import { EventHub } from '../live/event-hub';
import { LiveEvents, type LiveState } from '../live/live-events';
import { AccountView } from './account-view';
import { ExportsView } from './exports-view';
import { TasksView } from './tasks-view';
import { TokensView } from './tokens-view';

const VIEWS = [
  { path: '/app/', label: 'Tasks' },
  { path: '/app/exports', label: 'Exports' },
  { path: '/app/tokens', label: 'Access tokens' },
  { path: '/app/account', label: 'Account' },
] as const;
type ViewPath = (typeof VIEWS)[number]['path'];

const LIVE_LABELS: Record<LiveState, string> = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', stopped: 'Offline' };

const viewOf = (pathname: string): ViewPath => VIEWS.find((view) => view.path !== '/app/' && pathname.startsWith(view.path))?.path ?? '/app/';

/**
 * The page of a person who is logged in: the header, the navigation between views, and the one
 * live stream of their changes (started before any view loads, so nothing committed meanwhile is missed).
 */
export function SignedIn({ user: signedIn, onLogOut, onAccountDeleted }: { user: User; onLogOut: () => Promise<void>; onAccountDeleted: () => Promise<void> }) {
  const [user, setUser] = useState(signedIn);
  const [view, setView] = useState<ViewPath>(() => viewOf(location.pathname));
  const [live, setLive] = useState<LiveState>('connecting');
  const hub = useMemo(() => new EventHub(), []);
  const events = useMemo(
    () =>
      new LiveEvents({
        ticket: async () => {
          try {
            return (await authorized(() => api.POST('/events/tickets'))).ticket;
          } catch (caught) {
            if (caught instanceof ApiError && caught.status === 401) return null;
            throw caught;
          }
        },
        onEvent: (event) => hub.emit(event),
        onResync: () => hub.emit('resync'),
        onState: setLive,
      }),
    [hub],
  );

  const ready = useCallback(() => events.ready(), [events]);

  useEffect(() => {
    events.start();
    return () => events.stop();
  }, [events]);

  useEffect(() => {
    const onPop = () => setView(viewOf(location.pathname));
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);

  useEffect(() => {
    document.title = `${VIEWS.find((candidate) => candidate.path === view)!.label} · Taskforge`;
  }, [view]);

  const go = (path: ViewPath) => (event: MouseEvent) => {
    if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    history.pushState(null, '', path);
    setView(path);
  };

  return (
    <>
      <header class="topbar">
        <span class="brand">Taskforge</span>
        <nav aria-label="Main">
          {VIEWS.map(({ path, label }) => (
            <a key={path} href={path} onClick={go(path)} aria-current={view === path ? 'page' : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <span class={`live live-${live}`} role="status" aria-label={`Live updates: ${LIVE_LABELS[live]}`}>
          {LIVE_LABELS[live]}
        </span>
        <span class="who">{user.name ?? user.username}</span>
        <button type="button" onClick={() => void onLogOut()}>
          Log out
        </button>
      </header>
      {view === '/app/' && <TasksView hub={hub} ready={ready} />}
      {view === '/app/exports' && <ExportsView hub={hub} />}
      {view === '/app/tokens' && <TokensView />}
      {view === '/app/account' && <AccountView user={user} onChanged={setUser} onDeleted={onAccountDeleted} />}
    </>
  );
}
