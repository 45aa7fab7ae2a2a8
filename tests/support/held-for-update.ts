import type { TaskRepository, TransactionRunner } from '../../src/application/index.js';
import { aNewTask } from './task-builders.js';

/**
 * The order of events when one unit of work holds a task for update while a second unit asks for
 * it too: a store with row locks (or one connection) answers
 * ['first released', 'first wrote', 'second read version 2'] — the second unit reads only once
 * the first has committed, and sees its write.
 */
export async function heldForUpdateOrder(runner: TransactionRunner, tasks: TaskRepository, owner: number): Promise<string[]> {
  const task = await tasks.create(aNewTask(owner));
  const order: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let holding!: () => void;
  const firstHolds = new Promise<void>((resolve) => (holding = resolve));

  const first = runner.run(async (scope) => {
    const current = (await scope.tasks.findForUpdate(owner, task.id))!;
    holding();
    await gate;
    await scope.tasks.update(owner, task.id, current.version, { ...current, title: 'first', version: current.version + 1 });
    order.push('first wrote');
  });
  await firstHolds;
  const second = runner.run(async (scope) => {
    const read = await scope.tasks.findForUpdate(owner, task.id);
    order.push(`second read version ${read?.version}`);
  });
  // What is tested is that the second unit does NOT get in: give it every chance to, then let go.
  await new Promise((resolve) => setTimeout(resolve, 100));
  order.push('first released');
  release();
  await Promise.all([first, second]);
  return order;
}
