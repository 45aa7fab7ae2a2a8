import type { paths } from './schema';

type Json<T> = T extends { content: { 'application/json': infer Body } } ? Body : never;

/** A task as GET /tasks/{id} returns it. */
export type Task = Json<paths['/tasks/{id}']['get']['responses'][200]>;
export type TaskPage = Json<paths['/tasks']['get']['responses'][200]>;
export type TaskQuery = NonNullable<paths['/tasks']['get']['parameters']['query']>;
export type Sort = NonNullable<TaskQuery['sort']>;
export type NewTask = NonNullable<paths['/tasks']['post']['requestBody']>['content']['application/json'];
export type TaskPatch = NonNullable<paths['/tasks/{id}']['patch']['requestBody']>['content']['application/json'];
export type User = Json<paths['/me']['get']['responses'][200]>;
export type Status = Task['status'];
export type Priority = Task['priority'];

/** An RFC 9457 problem as every error of the API is. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: Array<{ field: string; message: string }>;
}
