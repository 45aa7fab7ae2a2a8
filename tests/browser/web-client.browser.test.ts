import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Locator, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../scripts/support/server-process.js';
import { proposals, startFakeOpenAiServer, type FakeOpenAiServer } from '../support/fake-openai-server.js';
import {
  ARTIFACTS_DIR,
  browserTestsSkipped,
  buildService,
  launchBrowser,
  screenshot,
  seriousAccessibilityViolations,
  startBuiltService,
  type Browser,
  type RunningService,
} from './browser-harness.js';

const skipped = browserTestsSkipped();
if (skipped) console.warn(`Browser tests skipped: ${skipped}.`);

/**
 * The web client in real Chromium against the built service, as a person uses it: one journey,
 * step by step (each step starts where the previous one left the page). A failed step leaves a
 * screenshot in ARTIFACTS_DIR.
 */
describe.skipIf(skipped !== null)('the web client in Chromium', () => {
  let service: RunningService;
  let ai: FakeOpenAiServer;
  let browser: Browser;
  let page: Page;
  const person = { username: `ada_${process.pid}`, email: `ada_${process.pid}@example.com`, password: 'correct horse battery staple' };

  beforeAll(async () => {
    await buildService();
    ai = await startFakeOpenAiServer();
    service = await startBuiltService({ AI_BASE_URL: ai.url, AI_API_KEY: 'browser-tests-key', AI_MODEL: 'fake-model' });
    browser = await launchBrowser();
    page = browser.page;
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await ai?.close();
  });

  beforeEach(({ task, onTestFailed }) => {
    onTestFailed(async () => {
      const file = await screenshot(page, task.name).catch(() => null);
      if (file) console.error(`screenshot of the failed step: ${file}`);
    });
  });

  const newTaskForm = () => page.getByRole('form', { name: 'New task' });
  const item = (title: string): Locator => page.getByRole('listitem').filter({ hasText: title });
  /** An expression evaluated in the page (this file is type-checked without the DOM's types). */
  const inPage = (expression: string): Promise<unknown> => page.evaluate(expression);
  /** The titles in the task list, in its order. */
  const listTitles = () => page.locator('[aria-label="Tasks"] li .title').allTextContents();
  /** Waits until the task list shows exactly these titles, in this order. */
  const listShows = (expected: string[]) => expect.poll(listTitles, { timeout: 10_000 }).toEqual(expected);
  const titles = async () => page.getByRole('listitem').locator('.title').allTextContents();

  async function addTask(title: string, fields: { description?: string; tags?: string } = {}): Promise<void> {
    const form = newTaskForm();
    await form.getByLabel('Title', { exact: true }).fill(title);
    if (fields.description) await form.getByLabel('Description', { exact: true }).fill(fields.description);
    if (fields.tags) await form.getByLabel('Tags').fill(fields.tags);
    await form.getByRole('button', { name: /^Add task/ }).click();
    await item(title).waitFor();
  }

  /** The API, as another client of the same person would use it (one login, reused). */
  let apiToken: string | null = null;
  async function apiAs(method: string, url: string, body?: unknown): Promise<Response> {
    if (apiToken === null) {
      const login = await fetch(`${service.baseUrl}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: person.username, password: person.password }) });
      apiToken = ((await login.json()) as { access_token: string }).access_token;
    }
    return fetch(`${service.baseUrl}${url}`, {
      method,
      headers: { authorization: `Bearer ${apiToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
  }

  it('sends GET / to the client, which asks for a login', async () => {
    await page.goto(`${service.baseUrl}/`);
    expect(new URL(page.url()).pathname).toBe('/app/');
    await page.getByRole('button', { name: /^Log in/ }).waitFor();
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
  });

  it('signs up a new person and shows their empty list', async () => {
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByLabel('Username', { exact: true }).fill(person.username);
    await page.getByLabel('Email', { exact: true }).fill(person.email);
    await page.getByLabel('Password', { exact: true }).fill(person.password);
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await page.getByRole('button', { name: /^Sign up/ }).click();
    await page.getByText('No tasks yet').waitFor();
    await page.getByRole('button', { name: /^Log out/ }).waitFor();
  });

  it('adds tasks, each a list item with its Done checkbox', async () => {
    await addTask('Buy milk', { description: 'Semi-skimmed', tags: 'errands, home' });
    await addTask('Write report', { tags: 'work' });
    await addTask('<img src=x onerror=alert(1)> & friends');
    await listShows(['<img src=x onerror=alert(1)> & friends', 'Write report', 'Buy milk']);
    await page.getByRole('checkbox', { name: 'Done: Buy milk' }).waitFor();
    expect(await item('Buy milk').textContent()).toContain('#errands');
    // The title is text, never markup.
    expect(await page.locator('.task img').count()).toBe(0);
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
  });

  it('edits a task in a dialog and saves it', async () => {
    await item('Write report').getByRole('button', { name: /^Edit/ }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Title', { exact: true }).fill('Write the annual report');
    await dialog.getByLabel('Description', { exact: true }).fill('Due before the board meeting');
    await dialog.getByLabel('Priority').selectOption('urgent');
    await dialog.getByLabel('Due date').fill('2026-12-24');
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await dialog.getByRole('button', { name: /^Save/ }).click();
    await dialog.waitFor({ state: 'detached' });
    const edited = item('Write the annual report');
    await edited.getByText('Urgent priority').waitFor();
    expect(await edited.textContent()).toContain('Due before the board meeting');
    await edited.getByText('Due 2026-12-24').waitFor();
    const stored = (await (await apiAs('GET', '/tasks?q=annual')).json()) as { items: Array<{ priority: string; due_date: string | null }> };
    expect(stored.items.map(({ priority, due_date }) => ({ priority, due_date }))).toEqual([{ priority: 'urgent', due_date: '2026-12-24T00:00:00.000Z' }]);
  });

  it('completes a task with its checkbox, and the server keeps it done', async () => {
    const checkbox = page.getByRole('checkbox', { name: 'Done: Buy milk' });
    await checkbox.check();
    await item('Buy milk').getByText('Done', { exact: true }).waitFor();
    const list = (await (await apiAs('GET', '/tasks?status=done')).json()) as { items: Array<{ title: string }> };
    expect(list.items.map((task) => task.title)).toEqual(['Buy milk']);
  });

  it('filters by status and by tag', async () => {
    await page.getByLabel('Filter by status').selectOption('done');
    await listShows(['Buy milk']);
    await page.getByLabel('Filter by status').selectOption('');
    await page.getByLabel('Filter by tag').fill('work');
    await listShows(['Write the annual report']);
    await page.getByLabel('Filter by tag').fill('');
    await listShows(['<img src=x onerror=alert(1)> & friends', 'Write the annual report', 'Buy milk']);
  });

  it('sorts by title, by priority and by due date, as the server orders them', async () => {
    const sortBy = page.getByLabel('Sort by');
    await sortBy.selectOption({ label: 'Title' });
    await listShows(['<img src=x onerror=alert(1)> & friends', 'Buy milk', 'Write the annual report']);
    await sortBy.selectOption({ label: 'Priority' });
    await listShows(['Write the annual report', '<img src=x onerror=alert(1)> & friends', 'Buy milk']);
    // Tasks without a due date come last.
    await sortBy.selectOption({ label: 'Due date' });
    await listShows(['Write the annual report', 'Buy milk', '<img src=x onerror=alert(1)> & friends']);
    await sortBy.selectOption({ label: 'Newest first' });
    await listShows(['<img src=x onerror=alert(1)> & friends', 'Write the annual report', 'Buy milk']);
  });

  it('shows a 429 or a 503 as a message with a way to try again, never a blank page', async () => {
    const listRequests = (url: URL) => url.pathname === '/tasks';
    const failWith = (status: 429 | 503, headers: Record<string, string> = {}) =>
      page.route(listRequests, (route: Route) =>
        route.request().method() === 'GET'
          ? route.fulfill({ status, headers: { 'content-type': 'application/problem+json', ...headers }, body: JSON.stringify({ type: 'about:blank', title: 'Refused', status }) })
          : route.fallback(),
      );
    await failWith(429, { 'retry-after': '30' });
    await page.getByLabel('Filter by status').selectOption('todo');
    await page.getByRole('alert').filter({ hasText: 'Too many requests. Try again in 30 s.' }).waitFor();
    await page.getByText('Your tasks could not be loaded.').waitFor();
    // The rest of the page stays usable.
    await page.getByRole('button', { name: /^Log out/ }).waitFor();
    await newTaskForm().getByLabel('Title', { exact: true }).waitFor();
    expect(await seriousAccessibilityViolations(page)).toEqual([]);

    await page.unroute(listRequests);
    await failWith(503);
    await page.getByRole('button', { name: 'Try again' }).click();
    await page.getByRole('alert').filter({ hasText: 'Taskforge is unavailable right now. Try again in a moment.' }).waitFor();

    await page.unroute(listRequests);
    await page.getByRole('button', { name: 'Try again' }).click();
    await listShows(['<img src=x onerror=alert(1)> & friends', 'Write the annual report']);
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Try again' }).count()).toBe(0);
    await page.getByLabel('Filter by status').selectOption('');
    await listShows(['<img src=x onerror=alert(1)> & friends', 'Write the annual report', 'Buy milk']);
  });

  it('searches titles on the server, finding tasks the page never loaded', async () => {
    // 60 more tasks: the first page (50) cannot hold the oldest ones.
    for (let i = 1; i <= 60; i++) expect((await apiAs('POST', '/tasks', { title: `Filler task ${i}` })).status).toBe(201);
    await page.reload();
    await page.getByText(/^Showing 50 of 63$/).waitFor();
    expect(await page.getByRole('listitem').count()).toBe(50);
    expect(await item('Buy milk').count()).toBe(0);

    await page.getByLabel('Search', { exact: true }).fill('MILK');
    await listShows(['Buy milk']);
    await page.getByLabel('Search', { exact: true }).fill('');
    await page.getByText(/^Showing 50 of 63$/).waitFor();
  });

  it('pages through the list with the cursor, 50 at a time, as the person scrolls to its end', async () => {
    // Scrolling near the button loads the next page (a click would race that load for the button).
    await page.getByRole('button', { name: 'Load more tasks' }).scrollIntoViewIfNeeded();
    await page.getByText(/^Showing 63 of 63$/).waitFor();
    expect(new Set(await titles()).size).toBe(63);
    expect(await page.getByRole('button', { name: 'Load more tasks' }).count()).toBe(0);
  });

  it('deletes a task', async () => {
    await item('Filler task 7').getByRole('button', { name: /^Delete/ }).click();
    await item('Filler task 7').waitFor({ state: 'detached' });
    expect((await apiAs('GET', '/tasks?q=Filler%20task%207')).status).toBe(200);
    const remaining = (await (await apiAs('GET', '/tasks?q=Filler%20task%207')).json()) as { items: unknown[] };
    expect(remaining.items).toEqual([]);
  });

  it('shows changes made through the API without a reload: created, changed and deleted', async () => {
    await page.getByText(/^Live$/).waitFor();
    const created = (await (await apiAs('POST', '/tasks', { title: 'Made elsewhere', tags: ['remote'] })).json()) as { id: number };
    await item('Made elsewhere').waitFor();

    expect((await apiAs('PATCH', `/tasks/${created.id}`, { title: 'Changed elsewhere', status: 'in_progress' })).status).toBe(200);
    await item('Changed elsewhere').getByText('In progress').waitFor();
    expect(await item('Made elsewhere').count()).toBe(0);

    expect((await apiAs('DELETE', `/tasks/${created.id}`)).status).toBe(204);
    await item('Changed elsewhere').waitFor({ state: 'detached' });
    // Each change arrived once: no duplicate rows.
    const all = await titles();
    expect(all.length).toBe(new Set(all).size);
  });

  it('catches up after a lost connection: what changed meanwhile appears once, without a reload', async () => {
    await page.getByText(/^Live$/).waitFor();
    // The service restarts (its streams end) while the browser is offline, so the page cannot
    // reconnect before the changes below are made: it must resume from the last event it saw.
    await browser.context.setOffline(true);
    const resumedFrom: string[] = [];
    const onRequest = (request: { url(): string }) => {
      const url = new URL(request.url());
      if (url.pathname === '/events' && url.searchParams.has('since')) resumedFrom.push(url.searchParams.get('since')!);
    };
    page.on('request', onRequest);
    let madeId: number;
    try {
      await service.restart();
      await page.getByText('Reconnecting…').waitFor();
      madeId = ((await (await apiAs('POST', '/tasks', { title: 'Made while offline' })).json()) as { id: number }).id;
      expect((await apiAs('PATCH', `/tasks/${madeId}`, { priority: 'high' })).status).toBe(200);
    } finally {
      await browser.context.setOffline(false);
    }
    // Resumed from the last event seen: the missed create and update, each applied once.
    await item('Made while offline').getByText('High priority').waitFor();
    await page.getByText(/^Live$/).waitFor();
    page.off('request', onRequest);
    expect(resumedFrom.length).toBeGreaterThan(0);
    const all = await titles();
    expect(all.filter((title) => title === 'Made while offline')).toHaveLength(1);
    expect(all.length).toBe(new Set(all).size);
    expect((await apiAs('DELETE', `/tasks/${madeId}`)).status).toBe(204);
    await item('Made while offline').waitFor({ state: 'detached' });
  }, 60_000);

  it('generates tasks from a prompt, previews them, and saves only the kept ones', async () => {
    const panel = page.getByRole('region', { name: 'Generate tasks with AI' });
    ai.answerWith(
      proposals([
        { title: 'Research the company', description: 'Products, news, the team.', priority: 'high', due_date: '2026-12-14T18:00:00.000Z', tags: ['interview'] },
        { title: 'Buy a <b>tie</b>', priority: 'low', tags: ['interview', 'shopping'] },
        { title: 'Practise answers', priority: 'medium', tags: ['interview'] },
      ]),
    );
    await panel.getByLabel('Prompt', { exact: true }).fill('Prepare for a job interview next week');
    await panel.getByLabel('Max tasks').fill('3');
    await panel.getByRole('button', { name: /^Generate/ }).click();
    const drafts = panel.getByRole('list', { name: 'Proposed tasks' });
    await drafts.getByRole('checkbox', { name: 'Research the company' }).waitFor();
    expect(await drafts.getByRole('listitem').allTextContents()).toEqual([
      'Research the companyProducts, news, the team.High priorityDue 2026-12-14#interview',
      'Buy a <b>tie</b>Low priority#interview#shopping',
      'Practise answersMedium priority#interview',
    ]);
    expect(await panel.locator('b').count()).toBe(0);
    expect(ai.requests.at(-1)?.body.messages.at(-1).content).toContain('Prepare for a job interview next week');
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    // Nothing is stored before Save.
    expect(((await (await apiAs('GET', '/tasks?tag=interview')).json()) as { items: unknown[] }).items).toEqual([]);

    await drafts.getByRole('checkbox', { name: 'Buy a <b>tie</b>' }).uncheck();
    await panel.getByRole('button', { name: /^Save/ }).click();
    await panel.getByText('Added 2 generated tasks.').waitFor();
    await item('Research the company').getByText('High priority').waitFor();
    await item('Practise answers').waitFor();
    expect(await item('Buy a <b>tie</b>').count()).toBe(0);
    const saved = (await (await apiAs('GET', '/tasks?tag=interview&sort=title')).json()) as { items: Array<{ title: string; due_date: string | null }> };
    expect(saved.items.map(({ title, due_date }) => ({ title, due_date }))).toEqual([
      { title: 'Practise answers', due_date: null },
      { title: 'Research the company', due_date: '2026-12-14T18:00:00.000Z' },
    ]);
    // The live stream delivered the same tasks again: still one row each.
    await page.getByText(/^Showing 64 of 64$/).waitFor();
    const all = await titles();
    expect(all.length).toBe(new Set(all).size);
  });

  it('shows the reason when the model keeps failing, and saves nothing', async () => {
    const panel = page.getByRole('region', { name: 'Generate tasks with AI' });
    ai.reset();
    ai.answerWith({ kind: 'status', status: 500 }, { kind: 'status', status: 500 }, { kind: 'status', status: 500 });
    await panel.getByLabel('Prompt', { exact: true }).fill('Plan a holiday');
    await panel.getByRole('button', { name: /^Generate/ }).click();
    const alert = panel.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toBe('The AI provider failed to answer; nothing was saved.');
    expect(await panel.getByRole('list', { name: 'Proposed tasks' }).count()).toBe(0);
    expect(ai.requests.length).toBeGreaterThanOrEqual(1);
    const stored = (await (await apiAs('GET', '/tasks?limit=1')).json()) as { total: number };
    expect(stored.total).toBe(64);
    await page.getByText(/^Showing 64 of 64$/).waitFor();
  });

  it('can be used with the keyboard alone, focus always visible', async () => {
    // From the header's last control, the next stop is the new task's title.
    await page.getByRole('button', { name: /^Log out/ }).focus();
    await page.keyboard.press('Tab');
    expect(await inPage('document.activeElement?.id')).toBe('new-title');
    expect(await inPage('getComputedStyle(document.activeElement).outlineStyle')).not.toBe('none');
    await page.keyboard.type('Typed with keys');
    await page.keyboard.press('Enter');
    await item('Typed with keys').waitFor();

    await item('Typed with keys').getByRole('button', { name: /^Edit/ }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('dialog').waitFor();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    expect(await inPage("document.activeElement?.getAttribute('aria-label')")).toBe('Edit Typed with keys');
  });

  it('attaches a file, downloads the same bytes and removes it', async () => {
    await item('Typed with keys').getByRole('button', { name: /^Edit/ }).click();
    const dialog = page.getByRole('dialog');
    const chooser = page.waitForEvent('filechooser');
    await dialog.getByRole('button', { name: /^Attach/ }).click();
    await (await chooser).setFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('Notes from the browser: ünïcödé\n') });
    await dialog.getByRole('button', { name: 'Download notes.txt' }).waitFor();
    expect(await seriousAccessibilityViolations(page)).toEqual([]);

    const downloading = page.waitForEvent('download');
    await dialog.getByRole('button', { name: 'Download notes.txt' }).click();
    const download = await downloading;
    expect(download.suggestedFilename()).toBe('notes.txt');
    expect(readFileSync(await download.path(), 'utf8')).toBe('Notes from the browser: ünïcödé\n');

    await dialog.getByRole('button', { name: 'Remove notes.txt' }).click();
    await dialog.getByText('No files.').waitFor();
    const task = (await (await apiAs('GET', '/tasks?q=Typed%20with%20keys')).json()) as { items: Array<{ id: number }> };
    const files = (await (await apiAs('GET', `/tasks/${task.items[0]!.id}/attachments`)).json()) as { items: unknown[] };
    expect(files.items).toEqual([]);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  it("shows an upload's progress while the file goes up", async () => {
    await item('Typed with keys').getByRole('button', { name: /^Edit/ }).click();
    const dialog = page.getByRole('dialog');
    // The network throttled to 2 MiB/s: 3 MiB take long enough to watch the bar move.
    const devtools = await browser.context.newCDPSession(page);
    await devtools.send('Network.enable');
    await devtools.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 2 * 1024 * 1024 });
    try {
      const chooser = page.waitForEvent('filechooser');
      await dialog.getByRole('button', { name: /^Attach/ }).click();
      await (await chooser).setFiles({ name: 'large.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(3 * 1024 * 1024, 7) });
      const progress = dialog.getByRole('progressbar', { name: 'Uploading large.bin' });
      await progress.waitFor();
      // Part of the file, not nothing and not all of it: the bar follows the upload.
      await expect.poll(async () => Number(await progress.getAttribute('value')), { timeout: 10_000, interval: 20 }).toSatisfy((fraction: number) => fraction > 0.05 && fraction < 0.95);
      await dialog.getByRole('button', { name: 'Download large.bin' }).waitFor({ timeout: 20_000 });
      expect(await progress.count()).toBe(0);
    } finally {
      await devtools.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
      await devtools.detach();
    }
    await dialog.getByRole('button', { name: 'Remove large.bin' }).click();
    await dialog.getByText('No files.').waitFor();
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
  });

  it('creates a personal access token, shown once, that works until revoked', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Access tokens' }).click();
    await page.getByLabel('Token name').fill('nightly backup');
    await page.getByRole('button', { name: 'Create token' }).click();
    const value = await page.getByLabel('Token', { exact: true }).inputValue();
    expect(value).toMatch(/^tfp_/);
    await page.getByRole('button', { name: 'Copy token' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    const asToken = () => fetch(`${service.baseUrl}/tasks?limit=1`, { headers: { authorization: `Bearer ${value}` } });
    expect((await asToken()).status).toBe(200);

    await page.getByRole('button', { name: 'Revoke nightly backup' }).click();
    await page.getByText('No tokens yet.').waitFor();
    expect((await asToken()).status).toBe(401);
  });

  it('starts an export, hears that it is ready, and downloads it', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Exports' }).click();
    await page.getByRole('button', { name: 'Export as CSV' }).click();
    // The job's completion arrives as a live event: no reload, no polling.
    await page.getByRole('button', { name: 'Download CSV export' }).waitFor({ timeout: 20_000 });
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download CSV export' }).click();
    const csv = readFileSync(await (await downloading).path(), 'utf8');
    expect(csv.split(/\r?\n/)[0]).toBe('id,title,description,status,priority,due_date,tags,completed_at,created_at,updated_at');
    expect(csv).toContain('Typed with keys');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Tasks' }).click();
    await item('Typed with keys').waitFor();
  });

  it('keeps the session over a reload, with no token in storage or in the URL', async () => {
    await page.reload();
    await item('Typed with keys').waitFor();
    await page.getByRole('button', { name: /^Log out/ }).waitFor();
    const stored = await inPage('({ local: localStorage.length, session: sessionStorage.length, url: location.href })');
    expect(stored).toEqual({ local: 0, session: 0, url: `${service.baseUrl}/app/` });
    const cookies = await browser.context.cookies(service.baseUrl + '/refresh');
    expect(cookies.map(({ name, path: cookiePath, httpOnly, sameSite }) => ({ name, path: cookiePath, httpOnly, sameSite }))).toEqual([
      { name: 'taskforge_refresh', path: '/refresh', httpOnly: true, sameSite: 'Strict' },
    ]);
    // Not a session cookie: it lasts as long as the refresh token (30 days by default).
    expect(cookies[0]!.expires).toBeGreaterThan(Date.now() / 1000 + 29 * 86_400);
    expect(await inPage('document.cookie')).toBe('');
  });

  it('logs out, and a reload stays logged out', async () => {
    await page.getByRole('button', { name: /^Log out/ }).click();
    await page.getByRole('button', { name: /^Log in/ }).waitFor();
    await page.reload();
    await page.getByRole('button', { name: /^Log in/ }).waitFor();
    expect(await browser.context.cookies(service.baseUrl + '/refresh')).toEqual([]);
  });

  it('logs in again and shows an error for a wrong password', async () => {
    await page.getByLabel('Username', { exact: true }).fill(person.username);
    await page.getByLabel('Password', { exact: true }).fill('not the password');
    await page.getByRole('button', { name: /^Log in/ }).click();
    await page.getByRole('alert').waitFor();
    await page.getByLabel('Password', { exact: true }).fill(person.password);
    await page.getByRole('button', { name: /^Log in/ }).click();
    await item('Typed with keys').waitFor();
  });

  it('keeps a list of 5,000 tasks responsive: scrolling loads 50 more at a time, never all of them', async () => {
    let seeded = 0;
    const seedOne = async (): Promise<void> => {
      while (seeded < 5_000) {
        const number = ++seeded;
        expect((await apiAs('POST', '/tasks', { title: `Bulk task ${number}`, tags: ['bulk'] })).status).toBe(201);
      }
    };
    // Away from the page meanwhile: it would otherwise render each of the 5,000 as it is created.
    await page.goto('about:blank');
    const seeding = Date.now();
    await Promise.all(Array.from({ length: 8 }, seedOne));
    console.log(`5,000 tasks created through the API in ${((Date.now() - seeding) / 1000).toFixed(1)} s`);
    const { total } = (await (await apiAs('GET', '/tasks?limit=1')).json()) as { total: number };
    expect(total).toBeGreaterThan(5_000);

    const listRequests: URL[] = [];
    const onRequest = (request: { url(): string; method(): string }) => {
      const url = new URL(request.url());
      if (url.pathname === '/tasks' && request.method() === 'GET') listRequests.push(url);
    };
    page.on('request', onRequest);
    try {
      await page.goto(`${service.baseUrl}/app/`);
      await page.getByText(`Showing 50 of ${total}`).waitFor();
      for (const shown of [100, 150, 200]) {
        await page.getByRole('button', { name: 'Load more tasks' }).scrollIntoViewIfNeeded();
        await page.getByText(`Showing ${shown} of ${total}`).waitFor();
      }
    } finally {
      page.off('request', onRequest);
    }
    expect(await page.getByRole('listitem').count()).toBe(200);
    // One request per page, each for 50: the list never asked for more than it shows.
    expect(listRequests.map((url) => url.searchParams.get('limit'))).toEqual(['50', '50', '50', '50']);
    expect(new Set(await titles()).size).toBe(200);
  }, 120_000);

  it('changes the name and the password in Account, then deletes the account and everything in it', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Account' }).click();
    const profile = page.getByRole('form', { name: 'Profile' });
    await profile.getByLabel('Name').fill('Ada Lovelace');
    expect(await seriousAccessibilityViolations(page)).toEqual([]);
    await profile.getByRole('button', { name: 'Save profile' }).click();
    await profile.getByText('Saved.', { exact: true }).waitFor();
    await page.getByRole('banner').getByText('Ada Lovelace').waitFor();

    const password = page.getByRole('form', { name: 'Password' });
    await password.getByLabel('Current password').fill('not my password');
    await password.getByLabel('New password').fill('a brand new passphrase');
    await password.getByRole('button', { name: 'Change password' }).click();
    await password.getByRole('alert').filter({ hasText: 'The current password is incorrect.' }).waitFor();
    await password.getByLabel('Current password').fill(person.password);
    await password.getByRole('button', { name: 'Change password' }).click();
    await password.getByText('Password changed. Your other sessions were logged out.').waitFor();
    const logInWith = (secret: string) =>
      fetch(`${service.baseUrl}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: person.username, password: secret }) });
    expect((await logInWith(person.password)).status).toBe(401);
    expect((await logInWith('a brand new passphrase')).status).toBe(200);

    await page.getByRole('button', { name: 'Delete account…' }).click();
    const confirm = page.getByRole('form', { name: 'Confirm deletion' });
    const deleteButton = confirm.getByRole('button', { name: 'Delete my account' });
    await confirm.getByLabel('Type your username to confirm').fill(`${person.username}x`);
    expect(await deleteButton.isDisabled()).toBe(true);
    await confirm.getByLabel('Type your username to confirm').fill(person.username);
    await deleteButton.click();
    await page.getByText('Your account and everything in it were deleted.').waitFor();
    await page.getByRole('button', { name: /^Log in/ }).waitFor();
    expect((await logInWith('a brand new passphrase')).status).toBe(401);
    // The refresh cookie left behind cannot bring the deleted account back.
    await page.reload();
    await page.getByRole('button', { name: /^Log in/ }).waitFor();
  });

  it('ran under the strict Content-Security-Policy without a violation', () => {
    expect(browser.cspViolations).toEqual([]);
  });

  it('loads at most 150 KB of compressed JavaScript and CSS at start', () => {
    const built = path.join(REPO_ROOT, 'dist/web');
    const html = readFileSync(path.join(built, 'index.html'), 'utf8');
    const assets = [...html.matchAll(/(?:src|href)="\/app\/([^"]+\.(?:js|css))"/g)].map((match) => match[1]!);
    expect(assets.length).toBeGreaterThan(0);
    const bytes = assets.reduce((sum, asset) => sum + gzipSync(readFileSync(path.join(built, asset)), { level: 9 }).length, 0);
    console.log(`initial load of /app/: ${assets.length} files, ${(bytes / 1024).toFixed(1)} KB gzipped (budget 150 KB); screenshots of failed steps go to ${ARTIFACTS_DIR}`);
    expect(bytes).toBeLessThanOrEqual(150 * 1024);
  });
});
