import type { User } from '../../domain/index.js';
import { formatUtc } from '../shared/utc-timestamps.js';
import type { UserDto } from './schemas/user-schemas.js';

/** A whitelist: a new column on users can never leak into a response by accident. */
export const toUserDto = (user: User): UserDto => ({
  id: user.id,
  username: user.username,
  email: user.email,
  name: user.name,
  role: user.role,
  created_at: formatUtc(user.createdAt),
  updated_at: formatUtc(user.updatedAt),
});
