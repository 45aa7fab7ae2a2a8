import type { Task } from '../../domain/index.js';
import type { Principal, TaskRepository } from '../ports/index.js';
import { taskNotFound } from './task-access.js';

export class GetTask {
  constructor(private readonly tasks: TaskRepository) {}

  async execute(actor: Principal, id: number): Promise<Task> {
    const task = await this.tasks.findById(actor.userId, id);
    if (!task) throw taskNotFound();
    return task;
  }
}
