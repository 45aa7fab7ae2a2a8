import type { Role, User } from '../../domain/index.js';

export interface NewUser {
  username: string;
  email: string;
  name: string | null;
  role: Role;
  passwordHash: string;
  createdAt: Date;
}

export type UserChanges = Partial<Pick<User, 'username' | 'email' | 'name' | 'role' | 'passwordHash'>> & {
  updatedAt: Date;
};

export interface PageQuery {
  limit: number;
  offset: number;
  /** Case-insensitive substring of username, email or name. */
  q?: string;
}

export interface Page<T> {
  items: T[];
  total: number;
}

export interface UserRepository {
  /** Throws USERNAME_TAKEN or EMAIL_TAKEN when a case-insensitive twin exists. */
  create(user: NewUser): Promise<User>;
  findById(id: number): Promise<User | null>;
  /** Matches the username or the email, ignoring case. */
  findByLogin(login: string): Promise<User | null>;
  /** Throws USERNAME_TAKEN or EMAIL_TAKEN like create; null when the user is gone. */
  update(id: number, changes: UserChanges): Promise<User | null>;
  /** Removes the user and, by cascade, everything they own. */
  delete(id: number): Promise<boolean>;
  list(query: PageQuery): Promise<Page<User>>;
  adminExists(): Promise<boolean>;
}

export const USER_REPOSITORY = Symbol('UserRepository');
